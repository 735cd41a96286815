#!/usr/bin/env bash
# Builds a checking tool at the version hack/versions.env pins, with the pinned Go toolchain,
# from the Go module proxy into a cache outside the repository (once per version), and prints
# the path of its binary:
#   ${EDGEWATCH_CACHE:-$HOME/.cache/edgewatch}/tools/<name>-<version>-<toolchain>/<name>
#
#   hack/tools.sh govulncheck | indexdb | staticcheck
set -o errexit -o nounset -o pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=versions.env
source "${root}/hack/versions.env"
export GOTOOLCHAIN="${GO_TOOLCHAIN}" GOWORK=off
GO="${GO:-go}"

case "${1:-}" in
  govulncheck) pkg="golang.org/x/vuln/cmd/govulncheck" version="${GOVULNCHECK_VERSION}" ;;
  # indexdb is golang.org/x/vulndb's own database builder, at the version of the database.
  indexdb) pkg="golang.org/x/vulndb/cmd/indexdb" version="${VULNDB_VERSION}" ;;
  staticcheck) pkg="honnef.co/go/tools/cmd/staticcheck" version="${STATICCHECK_VERSION}" ;;
  *)
    echo "usage: $0 govulncheck|indexdb|staticcheck" >&2
    exit 2
    ;;
esac
name="$1"
cache="${EDGEWATCH_CACHE:-${HOME}/.cache/edgewatch}/tools"
dir="${cache}/${name}-${version}-${GO_TOOLCHAIN}"

if [[ ! -x "${dir}/${name}" ]]; then
  echo "tools: building ${pkg}@${version} with ${GO_TOOLCHAIN} into ${dir} (once per version)" >&2
  mkdir -p "${cache}"
  tmp="$(mktemp -d "${cache}/.build.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '${tmp}'" EXIT
  # go install pkg@version builds with the tool's own go.mod, outside any workspace.
  (cd "${tmp}" && GOBIN="${tmp}/bin" "${GO}" install "${pkg}@${version}")
  mkdir -p "${dir}"
  mv "${tmp}/bin/${name}" "${dir}/${name}"
  # Older versions of the same tool are no longer used.
  for old in "${cache}/${name}"-*; do
    [[ "${old}" == "${dir}" ]] || rm -rf "${old}"
  done
fi
echo "${dir}/${name}"
