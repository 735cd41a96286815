#!/usr/bin/env bash
# Builds edgewatch's images, pushes them and applies one overlay of the deployment tree.
#
#   hack/deploy.sh dev                          kind cluster from hack/cluster-up.sh, registry localhost:5001
#   REGISTRY=ghcr.io/you hack/deploy.sh prod    any cluster; REGISTRY is where images are pushed
#   REGISTRY=ghcr.io/you hack/deploy.sh external   prod on a RabbitMQ outside the cluster
#
# Images: detect and motion-source link OpenCV through cgo, so they are built from their Dockerfiles:
# detect-cuda (Dockerfile.cuda) for the GPU Service of config/services/detect.yaml, and detect
# (Dockerfile, CPU) for the dev overlay, whose kind cluster has no GPU; alert, caption and dashboard are pure Go
# and built by Knative Functions' host builder (func build --builder=host). Every image is tagged with
# the commit, and the overlay is applied with those tags through a generated kustomization, so that
# one declarative tree (config/) owns every Knative Service: `func deploy` would rewrite a Service
# from func.yaml and drop what func.yaml cannot say (GPU, node selector, tolerations, secrets).
#
# Needs docker, func (or kn func), kubectl; cannot run on a machine without Docker and a cluster.
# Options (environment): REGISTRY, TAG (default: the commit), SKIP_BUILD=1, MONITORING=1.
set -o errexit -o nounset -o pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
overlay="${1:-dev}"
[[ -d "${root}/deploy/${overlay}" ]] || { echo "deploy: no overlay deploy/${overlay}" >&2; exit 2; }

case "${overlay}" in
  dev) REGISTRY="${REGISTRY:-localhost:5001/edgewatch}" ;;
  *) : "${REGISTRY:?set REGISTRY, e.g. ghcr.io/your-org/edgewatch}" ;;
esac
TAG="${TAG:-$(git -C "${root}" rev-parse --short=12 HEAD)}"
if [[ -n "$(git -C "${root}" status --porcelain -- functions config deploy)" ]]; then
  TAG="${TAG}-dirty"
fi

FUNC="${FUNC:-func}"
command -v "${FUNC}" >/dev/null || FUNC="kn func"
step() { echo "==> $*" >&2; }

# image:function:Dockerfile for every image built with docker.
case "${overlay}" in
  dev) docker_images=(detect:detect:Dockerfile motion-source:motion-source:Dockerfile) ;;
  *) docker_images=(detect-cuda:detect:Dockerfile.cuda motion-source:motion-source:Dockerfile) ;;
esac
docker_functions=()
for spec in "${docker_images[@]}"; do docker_functions+=("${spec%%:*}"); done
func_functions=(alert caption dashboard)

build() {
  local spec name fn dockerfile dir
  for spec in "${docker_images[@]}"; do
    IFS=: read -r name fn dockerfile <<<"${spec}"
    dir="${root}/functions/${fn}"
    [[ -f "${dir}/${dockerfile}" ]] || { echo "deploy: functions/${fn}/${dockerfile} missing" >&2; exit 1; }
    step "docker build ${REGISTRY}/${name}:${TAG} (functions/${fn}/${dockerfile})"
    docker build -t "${REGISTRY}/${name}:${TAG}" -f "${dir}/${dockerfile}" "${dir}"
    docker push "${REGISTRY}/${name}:${TAG}"
  done
  for name in "${func_functions[@]}"; do
    dir="${root}/functions/${name}"
    [[ -d "${dir}" ]] || { echo "deploy: functions/${name} missing" >&2; exit 1; }
    step "func build ${REGISTRY}/${name}:${TAG} (host builder)"
    ${FUNC} build --path "${dir}" --builder host --image "${REGISTRY}/${name}:${TAG}" --push
  done
}

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then build; fi

# A kustomization over the chosen overlay that pins every image to this build.
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
cp -r "${root}/config" "${root}/deploy" "${work}/"
mkdir -p "${work}/deploy/release"
{
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources: [../${overlay}]"
  echo "images:"
  for name in "${docker_functions[@]}" "${func_functions[@]}"; do
    echo "  - {name: ghcr.io/edgewatch/${name}, newName: ${REGISTRY}/${name}, newTag: \"${TAG}\"}"
  done
} >"${work}/deploy/release/kustomization.yaml"
# An overlay's own images: entries (dev) rename ghcr.io/edgewatch/<name>; pin those names too.
for name in "${docker_functions[@]}" "${func_functions[@]}"; do
  grep -o "newName: .*/${name}$" "${work}/deploy/${overlay}/kustomization.yaml" 2>/dev/null | sed 's/newName: //' |
    while read -r renamed; do
      echo "  - {name: ${renamed}, newName: ${REGISTRY}/${name}, newTag: \"${TAG}\"}" >>"${work}/deploy/release/kustomization.yaml"
    done
done

rendered="${work}/rendered.yaml"
kubectl kustomize "${work}/deploy/release" >"${rendered}"

# Every Secret the Services refer to must exist first (docs/deploy.md, "Secrets").
missing=0
while read -r secret; do
  [[ -z "${secret}" ]] && continue
  if ! kubectl -n edgewatch get secret "${secret}" >/dev/null 2>&1; then
    echo "deploy: Secret edgewatch/${secret} is missing (docs/deploy.md, Secrets)" >&2
    missing=1
  fi
done < <(awk '/secretKeyRef:|secretRef:/ {grab=1; next} grab && /name:/ {print $NF; grab=0}' "${rendered}" | sort -u)
if [[ "${overlay}" == external ]] && ! kubectl -n edgewatch get secret rabbitmq-external >/dev/null 2>&1; then
  echo "deploy: Secret edgewatch/rabbitmq-external is missing (docs/deploy.md)" >&2
  missing=1
fi
if [[ "${missing}" == 1 ]]; then exit 1; fi

step "kubectl apply (${overlay}, images ${REGISTRY}/*:${TAG})"
kubectl apply -f "${rendered}"
kubectl -n edgewatch wait broker/default --for=condition=Ready --timeout=300s
kubectl -n edgewatch wait ksvc --all --for=condition=Ready --timeout=600s
kubectl -n edgewatch wait trigger --all --for=condition=Ready --timeout=300s

if [[ "${MONITORING:-0}" == 1 ]]; then
  step "monitoring (needs the Prometheus Operator's CRDs)"
  kubectl apply -k "${root}/config/monitoring"
fi

kubectl -n edgewatch get broker,ksvc,trigger
