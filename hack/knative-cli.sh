#!/usr/bin/env bash
# Builds the Knative CLIs the deployment docs use, func (Knative Functions) and kn, from the Go
# module proxy with tools/knative-cli (its own module, outside the workspace), into a cache outside
# the repository, and rebuilds one only when it is missing:
#   ${EDGEWATCH_CACHE:-$HOME/.cache/edgewatch}/func/<version>/func
#   ${EDGEWATCH_CACHE:-$HOME/.cache/edgewatch}/kn/<version>/kn
# The versions are the ones tools/knative-cli/go.mod requires (func v0.49.2, kn v0.50.0). The first
# build of func takes up to 7 minutes on 2 cores (kn about 3); later runs take no time.
#
#   hack/knative-cli.sh build func|kn   build it if missing and print its path
#   hack/knative-cli.sh test            build both if missing, then run test/funccli: func build
#                                       --builder=host of alert, caption and dashboard, and func
#                                       run + func invoke of caption (make test)
set -o errexit -o nounset -o pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
GO="${GO:-go}"
cache="${EDGEWATCH_CACHE:-${HOME}/.cache/edgewatch}"

usage() {
  echo "usage: $0 build func|kn | test" >&2
  exit 2
}

# required MODULE prints the version tools/knative-cli/go.mod requires of MODULE.
required() {
  awk -v m="$1" '{ sub(/^require[ \t]+/, "") } $1 == m { print $2; exit }' "${root}/tools/knative-cli/go.mod"
}

# build NAME builds the CLI NAME (func or kn) into the cache when it is missing and prints its path.
build() {
  local name="$1" module pkg ldflags version dir tmp
  case "${name}" in
    func)
      module=knative.dev/func
      pkg=knative.dev/func/cmd/func
      ldflags="-X knative.dev/func/pkg/version.Vers=" # + version: `func version`, `func environment`
      ;;
    kn)
      module=knative.dev/client
      pkg=knative.dev/client/cmd/kn
      ldflags="-X knative.dev/client/pkg/commands/version.Version="
      ;;
    *) usage ;;
  esac
  version="$(required "${module}")"
  if [[ -z "${version}" ]]; then
    echo "knative-cli: tools/knative-cli/go.mod requires no ${module}" >&2
    exit 2
  fi
  dir="${cache}/${name}/${version}"
  if [[ -x "${dir}/${name}" ]]; then
    echo "${dir}/${name}"
    return
  fi
  echo "knative-cli: building ${name} ${version} into ${dir} (first time only, minutes)" >&2
  mkdir -p "${dir}"
  tmp="$(mktemp -d "${dir}/.build.XXXXXX")"
  # The trap is set with the path expanded now, so that it still names the directory when it
  # runs after this function returned (or after Ctrl-C); the move happens only after a complete
  # build, so an interrupted one is redone.
  # shellcheck disable=SC2064
  trap "rm -rf '${tmp}'" EXIT
  (
    cd "${root}/tools/knative-cli"
    GOWORK=off "${GO}" build -trimpath -ldflags="-s -w ${ldflags}${version}" -o "${tmp}/${name}" "${pkg}"
  )
  mv "${tmp}/${name}" "${dir}/${name}"
  rm -rf "${tmp}"
  echo "${dir}/${name}"
}

case "${1:-}" in
  build)
    [[ $# == 2 ]] || usage
    build "$2"
    ;;
  test)
    EDGEWATCH_FUNC="$(build func)"
    EDGEWATCH_KN="$(build kn)"
    export EDGEWATCH_FUNC EDGEWATCH_KN
    cd "${root}"
    "${GO}" test -count=1 -timeout 20m -tags funccli ./test/funccli
    ;;
  *) usage ;;
esac
