#!/usr/bin/env bash
# Builds edgewatch's images, pushes them and applies one overlay of the deployment tree.
#
#   hack/deploy.sh dev                          kind cluster from hack/cluster-up.sh, registry localhost:5001
#   REGISTRY=ghcr.io/you hack/deploy.sh prod    any cluster; REGISTRY is where images are pushed
#   REGISTRY=ghcr.io/you hack/deploy.sh external   prod on a RabbitMQ outside the cluster
#
# Images: the function table (internal/functions/functions.txt) says how each is built. detect and
# motion-source link OpenCV through cgo, so they are built from their Dockerfiles: detect-cuda
# (Dockerfile.cuda) for the GPU Service of config/services/detect.yaml, and detect (Dockerfile, CPU) for the
# dev overlay, whose kind cluster has no GPU; alert, caption and dashboard are pure Go and built by Knative
# Functions' host builder (func build --builder=host). Every image is tagged with
# the commit, and the overlay is applied with those tags through a generated kustomization, so that
# one declarative tree (config/) owns every Knative Service: `func deploy` would rewrite a Service
# from func.yaml and drop what func.yaml cannot say (GPU, node selector, tolerations, secrets).
#
# func build rewrites func.yaml (it drops its comments), so each function is built from a copy: the tree stays
# clean and the next run's tag does not turn -dirty.
#
# detect's Dockerfiles bake the model in from functions/detect/models, which a fresh clone does not
# have: fetch it first (the script stops and says so otherwise):
#   hack/fetch-model.sh tiny functions/detect/models   dev: Dockerfile (CPU), yolov4-tiny
#   hack/fetch-model.sh full functions/detect/models   prod, external: Dockerfile.cuda, yolov4
#
# Needs docker, go, func v0.49.2 (FUNC=path; hack/knative-cli.sh build func builds it), kubectl;
# cannot run on a machine without Docker and a cluster.
# Options (environment): REGISTRY, TAG (default: the commit), SKIP_BUILD=1, MONITORING=1, FUNC, PLAN_ONLY=1.
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

# The model detect's image bakes in.
case "${overlay}" in
  dev) model=yolov4-tiny model_kind=tiny ;;
  *) model=yolov4 model_kind=full ;;
esac
# image:function:Dockerfile for every image built with docker, and the functions func builds, from the
# function table (internal/functions/functions.txt): a row's gpu image replaces its image outside dev, whose
# kind cluster has no GPU.
docker_images=()
func_functions=()
while read -r name _kind _port _metrics _opencv _role image gpu _summary; do
  [[ -z "${name}" || "${name}" == \#* ]] && continue
  if [[ "${image}" == func ]]; then
    func_functions+=("${name}")
  elif [[ "${overlay}" != dev && "${gpu}" != - ]]; then
    docker_images+=("${gpu%%:*}:${name}:${gpu#*:}")
  else
    docker_images+=("${name}:${name}:${image}")
  fi
done <"${root}/internal/functions/functions.txt"
docker_functions=()
for spec in "${docker_images[@]}"; do docker_functions+=("${spec%%:*}"); done
# PLAN_ONLY=1 prints what would be built, "docker IMAGE:FUNCTION:DOCKERFILE" or "func FUNCTION" a line, and
# stops there (hack/deploy_test.go checks it against the function table).
if [[ "${PLAN_ONLY:-0}" == 1 ]]; then
  printf 'docker %s\n' "${docker_images[@]}"
  printf 'func %s\n' "${func_functions[@]}"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

build() {
  local spec name fn dockerfile dir f
  for f in "${model}.cfg" "${model}.weights" coco.names; do
    if [[ ! -f "${root}/functions/detect/models/${f}" ]]; then
      echo "deploy: functions/detect/models/${f} is missing; detect's image bakes its model in:" >&2
      echo "  hack/fetch-model.sh ${model_kind} functions/detect/models" >&2
      exit 1
    fi
  done
  for spec in "${docker_images[@]}"; do
    IFS=: read -r name fn dockerfile <<<"${spec}"
    dir="${root}/functions/${fn}"
    [[ -f "${dir}/${dockerfile}" ]] || { echo "deploy: functions/${fn}/${dockerfile} missing" >&2; exit 1; }
    step "docker build ${REGISTRY}/${name}:${TAG} (functions/${fn}/${dockerfile})"
    docker build -t "${REGISTRY}/${name}:${TAG}" -f "${dir}/${dockerfile}" "${dir}"
    docker push "${REGISTRY}/${name}:${TAG}"
  done
  if ! ${FUNC} version 2>/dev/null | grep -q 'v0\.49\.2'; then
    echo "deploy: warning: ${FUNC} is not func v0.49.2, the release these builds are written for (docs/deploy.md)" >&2
  fi
  mkdir -p "${work}/functions"
  for name in "${func_functions[@]}"; do
    [[ -d "${root}/functions/${name}" ]] || { echo "deploy: functions/${name} missing" >&2; exit 1; }
    # A copy without earlier build output: func build writes into the function's directory.
    dir="${work}/functions/${name}"
    cp -r "${root}/functions/${name}" "${dir}"
    rm -rf "${dir}/.func"
    step "func build ${REGISTRY}/${name}:${TAG} (host builder)"
    # func v0.49.2's generated build module pins older versions (func-go v0.21.3, sdk-go v2.15.2,
    # x/sys v0.18.0) than the functions require, and its host builder runs no go mod tidy and
    # ignores func.yaml's buildEnvs: -mod=mod lets go raise them.
    GOFLAGS="${GOFLAGS:+${GOFLAGS} }-mod=mod" GOWORK=off \
      ${FUNC} build --path "${dir}" --builder host --image "${REGISTRY}/${name}:${TAG}" --push
  done
}

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then build; fi

# A kustomization over the chosen overlay that pins every image to this build.
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

# Every Secret a workload needs (a secretKeyRef or secretRef without optional: true) must exist
# first (docs/deploy.md, "Secrets"). kubectl kustomize writes block YAML, one key a line, so a
# reference's name and optional are the more-indented lines below it.
missing=0
while read -r secret; do
  [[ -z "${secret}" ]] && continue
  if ! kubectl -n edgewatch get secret "${secret}" >/dev/null 2>&1; then
    echo "deploy: Secret edgewatch/${secret} is missing (docs/deploy.md, Secrets)" >&2
    missing=1
  fi
done < <(awk '
  function flush() { if (in_ref && name != "" && !optional) print name; in_ref = 0 }
  { match($0, /^ */); indent = RLENGTH }
  in_ref && indent <= ref_indent { flush() }
  in_ref && /^ *name:/ { name = $2 }
  in_ref && /^ *optional: *true/ { optional = 1 }
  /^ *(- )?(secretKeyRef|secretRef):$/ { in_ref = 1; ref_indent = indent; name = ""; optional = 0 }
  END { flush() }' "${rendered}" | sort -u)
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
