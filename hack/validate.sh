#!/usr/bin/env bash
# Validates the deployment tree (config/, deploy/) without a cluster, with Knative's own
# validation code, kustomize's library, the event contract, the metrics the Go sources
# export and a plain-text secret scan. tools/validate is its own module, outside the workspace,
# so that Knative's dependency tree stays out of the function builds: hence GOWORK=off.
#
#   hack/validate.sh          vet and test tools/validate, including the repository's tree (make test)
#   hack/validate.sh report   print every problem of the repository's tree, exit 1 if any
set -o errexit -o nounset -o pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "${root}/tools/validate"
export GOWORK=off
GO="${GO:-go}"

case "${1:-test}" in
  test)
    "${GO}" vet ./...
    "${GO}" test -count=1 ./...
    ;;
  report)
    "${GO}" run ./cmd/validate -root "${root}"
    ;;
  *)
    echo "usage: $0 [test|report]" >&2
    exit 2
    ;;
esac
