#!/usr/bin/env bash
# Dry-runs the deployment tree (config/ and every deploy/* overlay) against a real
# kube-apiserver and etcd on loopback, with Knative Serving's and Eventing's CRDs installed,
# so that every object goes through the API server's own schema checks (strict field
# validation) as it would on a cluster. No cluster, container or kubectl is needed.
#
# The two servers are built from the Go module proxy by tools/apiserver (its own module,
# outside the workspace) into a cache outside the repository and rebuilt only when missing:
#   ${EDGEWATCH_CACHE:-$HOME/.cache/edgewatch}/kube/<version>/{kube-apiserver,etcd}
# The first build takes minutes (4 on this 2-core machine with an empty build cache, up to
# about 11 when busy); later runs take seconds.
#
#   hack/dry-run.sh          build if missing, then test tools/validate/kubeapi and dryrun (bad fixtures,
#                            the repository's tree, and `kn trigger create` of every Trigger of
#                            config/triggers with the kn of hack/knative-cli.sh) against the real servers
#                            (make test)
#   hack/dry-run.sh report   build if missing, then print every rejected and skipped object, exit 1 on a rejection
#   hack/dry-run.sh build    build the binaries if missing and print their directory
set -o errexit -o nounset -o pipefail

mode="${1:-test}"
case "${mode}" in
  test | report | build) ;;
  *)
    echo "usage: $0 [test|report|build]" >&2
    exit 2
    ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export GOWORK=off
GO="${GO:-go}"

# The releases tools/apiserver/go.mod requires name the cache directory, so that changing
# either builds afresh; e.g. v1.37.2-etcd-v3.7.0.
kube_version="$(awk '{ sub(/^require[ \t]+/, "") } $1 == "k8s.io/kubernetes" { k = $2 } $1 == "go.etcd.io/etcd/server/v3" { e = $2 }
  END { if (k != "" && e != "") print k "-etcd-" e }' "${root}/tools/apiserver/go.mod")"
if [[ -z "${kube_version}" ]]; then
  echo "dry-run: tools/apiserver/go.mod requires no k8s.io/kubernetes or go.etcd.io/etcd/server/v3" >&2
  exit 2
fi
bin_dir="${EDGEWATCH_CACHE:-${HOME}/.cache/edgewatch}/kube/${kube_version}"

build() {
  if [[ -x "${bin_dir}/kube-apiserver" && -x "${bin_dir}/etcd" ]]; then
    return
  fi
  echo "dry-run: building kube-apiserver and etcd into ${bin_dir} (first time only, several minutes)" >&2
  mkdir -p "${bin_dir}"
  # The EXIT trap runs after build() has returned, so it must not name a
  # local variable: the path is expanded into the trap now.
  local tmp
  tmp="$(mktemp -d "${bin_dir}/.build.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '${tmp}'" EXIT
  (
    cd "${root}/tools/apiserver"
    "${GO}" build -trimpath -ldflags='-s -w' -o "${tmp}/etcd" ./cmd/etcd
    "${GO}" build -trimpath -ldflags='-s -w' -o "${tmp}/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
  )
  # Move into place only once both built, so that an interrupted build is redone.
  mv "${tmp}/etcd" "${bin_dir}/etcd"
  mv "${tmp}/kube-apiserver" "${bin_dir}/kube-apiserver"
}

build
export EDGEWATCH_KUBE_BIN="${bin_dir}"
cd "${root}/tools/validate"

case "${mode}" in
  test)
    # The kn CLI for TestKnTriggerCreate (hack/knative-cli.sh: built once into the same cache).
    EDGEWATCH_KN="${EDGEWATCH_KN:-$(bash "${root}/hack/knative-cli.sh" build kn)}"
    export EDGEWATCH_KN
    "${GO}" test -count=1 -timeout 15m ./kubeapi/... ./dryrun/...
    ;;
  report)
    "${GO}" run ./cmd/dryrun -root "${root}" -bin "${bin_dir}"
    ;;
  build)
    echo "${bin_dir}"
    ;;
esac
