#!/usr/bin/env bash
# The known-vulnerability gate of `make test` and its database. docs/security.md has the routine.
#
# govulncheck and the Go vulnerability database come from the Go module proxy at the versions
# hack/versions.env pins; the database is built offline from the golang.org/x/vulndb module by
# that module's own cmd/indexdb, once per version, into a cache outside the repository:
#   ${EDGEWATCH_CACHE:-$HOME/.cache/edgewatch}/vulndb/<version>/
#
#   hack/vulncheck.sh [check]   prove the gate on its fixture module, then scan every module of
#                               go.work (source mode) and bin/edgewatch (binary mode, `make build`
#                               makes it); exit 1 on a called vulnerability without a current
#                               entry in hack/vulncheck-exceptions.txt
#   hack/vulncheck.sh update    move VULNDB_VERSION in hack/versions.env to the newest version of
#                               golang.org/x/vulndb the module proxy serves, and build its database
#   hack/vulncheck.sh db        build the database if missing and print its directory
set -o errexit -o nounset -o pipefail

mode="${1:-check}"
case "${mode}" in
  check | update | db) ;;
  *)
    echo "usage: $0 [check|update|db]" >&2
    exit 2
    ;;
esac

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
versions="${root}/hack/versions.env"
# shellcheck source=versions.env
source "${versions}"
export GOTOOLCHAIN="${GO_TOOLCHAIN}"
GO="${GO:-go}"
cache="${EDGEWATCH_CACHE:-${HOME}/.cache/edgewatch}/vulndb"

# module_dir downloads a module version into the module cache and prints its directory.
module_dir() {
  (cd / && GOWORK=off GOFLAGS=-mod=mod "${GO}" mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
}

# build_db builds the database of VULNDB_VERSION if it is missing.
build_db() {
  local dir="${cache}/${VULNDB_VERSION}" src indexdb tmp
  if [[ -f "${dir}/index/db.json" ]]; then
    return
  fi
  echo "vulncheck: building the vulnerability database ${VULNDB_VERSION} into ${dir} (once per version)" >&2
  indexdb="$(bash "${root}/hack/tools.sh" indexdb)"
  src="$(module_dir "golang.org/x/vulndb@${VULNDB_VERSION}")"
  if [[ ! -d "${src}/data/osv" ]]; then
    echo "vulncheck: golang.org/x/vulndb@${VULNDB_VERSION} has no data/osv" >&2
    exit 1
  fi
  mkdir -p "${cache}"
  tmp="$(mktemp -d "${cache}/.build.XXXXXX")"
  # shellcheck disable=SC2064
  trap "rm -rf '${tmp}'" EXIT
  "${indexdb}" -vulns "${src}/data/osv" -out "${tmp}/db"
  mv "${tmp}/db" "${dir}"
  for old in "${cache}"/*; do
    [[ "${old}" == "${dir}" ]] || rm -rf "${old}"
  done
}

case "${mode}" in
  db)
    build_db
    echo "${cache}/${VULNDB_VERSION}"
    ;;
  update)
    latest="$(cd / && GOWORK=off GOFLAGS=-mod=mod "${GO}" mod download -json golang.org/x/vulndb@latest |
      sed -n 's/^[[:space:]]*"Version": "\(.*\)",*$/\1/p')"
    if [[ -z "${latest}" ]]; then
      echo "vulncheck: the module proxy named no latest version of golang.org/x/vulndb" >&2
      exit 1
    fi
    if [[ "${latest}" == "${VULNDB_VERSION}" ]]; then
      echo "vulncheck: golang.org/x/vulndb ${VULNDB_VERSION} is already the newest"
    else
      sed -i "s/^VULNDB_VERSION=.*/VULNDB_VERSION=${latest}/" "${versions}"
      echo "vulncheck: golang.org/x/vulndb ${VULNDB_VERSION} -> ${latest} in hack/versions.env"
      VULNDB_VERSION="${latest}"
    fi
    build_db
    ;;
  check)
    if [[ ! -x "${root}/bin/edgewatch" ]]; then
      echo "vulncheck: bin/edgewatch is missing; make vulncheck builds it first (make build)" >&2
      exit 1
    fi
    build_db
    govulncheck="$(bash "${root}/hack/tools.sh" govulncheck)"
    export EDGEWATCH_GOVULNCHECK="${govulncheck}" EDGEWATCH_VULNDB="${cache}/${VULNDB_VERSION}"
    cd "${root}"
    echo "vulncheck: govulncheck ${GOVULNCHECK_VERSION}, golang.org/x/vulndb ${VULNDB_VERSION}, ${GO_TOOLCHAIN}" >&2
    # The gate must fail on a module that calls a vulnerable function before its pass means anything.
    if ! proof="$("${GO}" test -count=1 -v -run '^TestGateFailsOnCalledVulnerability$' ./internal/vulngate 2>&1)" ||
      ! grep -q -- '^--- PASS: TestGateFailsOnCalledVulnerability' <<<"${proof}"; then
      echo "${proof}" >&2
      echo "vulncheck: the gate did not fail on its fixture module; its verdict on this repository means nothing" >&2
      exit 1
    fi
    echo "vulncheck: the gate fails on its fixture module (GO-2021-0113 called), as it must" >&2
    targets=()
    while read -r dir; do
      if [[ "${dir}" == "${root}" ]]; then
        targets+=("source:.")
      else
        targets+=("source:${dir#"${root}"/}")
      fi
    done < <("${GO}" list -m -f '{{.Dir}}')
    "${GO}" run ./cmd/vulncheck -govulncheck "${govulncheck}" -db "${EDGEWATCH_VULNDB}" \
      -exceptions hack/vulncheck-exceptions.txt "${targets[@]}" binary:bin/edgewatch
    ;;
esac
