#!/usr/bin/env bash
# Installs the Debian packages edgewatch needs (skipping those present) and
# makes sure RabbitMQ and PostgreSQL are running. Safe to run again.
set -o errexit -o nounset -o pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sudo=""
if [[ "$(id -u)" != 0 ]]; then sudo="sudo"; fi

missing=()
while read -r pkg; do
  [[ -z "${pkg}" || "${pkg}" == \#* ]] && continue
  if ! dpkg-query -W -f='${Status}' "${pkg}" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("${pkg}")
  fi
done <"${root}/hack/apt-packages.txt"

if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}" >&2
  ${sudo} apt-get update -qq
  DEBIAN_FRONTEND=noninteractive ${sudo} apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

"${root}/hack/services.sh" start
