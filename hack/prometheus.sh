#!/usr/bin/env bash
# Runs a real Prometheus (Debian's prometheus package) in the foreground against a running `make run`
# (`edgewatch up`): the broker's and runner's metrics on METRICS_PORT and each function's on the ports after
# it that the function table (internal/functions/functions.txt) gives them. Import config/monitoring/dashboards/*.json into any Grafana
# pointed at it, or query http://127.0.0.1:9090/ directly.
#   METRICS_PORT        edgewatch up's -metrics-port (default 9400)
#   PROMETHEUS_ADDRESS  where Prometheus listens (default 127.0.0.1:9090)
#   PROMETHEUS_DIR      its configuration and data (default out/prometheus)
#   SCRAPE_INTERVAL     default 5s
set -o errexit -o nounset -o pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

port="${METRICS_PORT:-9400}"
dir="${PROMETHEUS_DIR:-out/prometheus}"
if ! command -v prometheus >/dev/null; then
  echo "prometheus is not installed: bash hack/deps.sh installs it (Debian package prometheus)" >&2
  exit 1
fi
mkdir -p "${dir}/data"
target() { # component port
  printf '      - targets: ["127.0.0.1:%s"]\n        labels: {component: %s}\n' "$2" "$1"
}
{
  printf 'global:\n  scrape_interval: %s\n  scrape_timeout: %s\nscrape_configs:\n' "${SCRAPE_INTERVAL:-5s}" "${SCRAPE_INTERVAL:-5s}"
  printf '  - job_name: edgewatch\n    static_configs:\n'
  target runner "${port}"
  # edgewatch up gives each function the port its row of the function table says, counted from its own.
  while read -r name _kind _port metrics _rest; do
    [[ -z "${name}" || "${name}" == \#* ]] && continue
    target "${name}" "$((port + metrics))"
  done <internal/functions/functions.txt
} >"${dir}/prometheus.yml"
echo "prometheus: scraping 127.0.0.1:${port} and the functions' ports after it; http://${PROMETHEUS_ADDRESS:-127.0.0.1:9090}/" >&2
exec prometheus --config.file="${dir}/prometheus.yml" --storage.tsdb.path="${dir}/data" \
  --web.listen-address="${PROMETHEUS_ADDRESS:-127.0.0.1:9090}" --log.level=warn
