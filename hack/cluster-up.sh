#!/usr/bin/env bash
# Creates a local Knative cluster for edgewatch with kind: Knative Serving + Kourier, Knative Eventing,
# cert-manager, the RabbitMQ Cluster and Messaging Topology Operators and eventing-rabbitmq, then
# patches Knative's ConfigMaps with config/cluster/*.yaml and starts a registry on localhost:5001.
#
# Needs Docker, kind, kubectl and internet access. It cannot run on the development machine of this
# repository (no Docker daemon, no internet); there, `edgewatch up` runs the pipeline without a cluster.
#
# Versions are pinned and move together: eventing-rabbitmq's newest release is knative-v1.22.1, so
# Knative is 1.22 throughout. The other tags were checked to exist (November 2026).
set -o errexit -o nounset -o pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

CLUSTER="${CLUSTER:-edgewatch}"
# The node image eventing-rabbitmq knative-v1.22.1 runs its kind end-to-end tests on.
KIND_NODE_IMAGE="${KIND_NODE_IMAGE:-kindest/node:v1.34.3@sha256:08497ee19eace7b4b5348db5c6a1591d7752b164530a36f855cb0f2bdcbadd48}"
KNATIVE_VERSION="${KNATIVE_VERSION:-1.22.0}"
EVENTING_RABBITMQ_VERSION="${EVENTING_RABBITMQ_VERSION:-1.22.1}"
CERT_MANAGER_VERSION="${CERT_MANAGER_VERSION:-1.19.6}"
RABBITMQ_CLUSTER_OPERATOR_VERSION="${RABBITMQ_CLUSTER_OPERATOR_VERSION:-2.22.3}"
RABBITMQ_TOPOLOGY_OPERATOR_VERSION="${RABBITMQ_TOPOLOGY_OPERATOR_VERSION:-1.20.1}"
REGISTRY_PORT="${REGISTRY_PORT:-5001}"

gh() { echo "https://github.com/$1/releases/download/$2/$3"; }

need() {
  for tool in "$@"; do
    command -v "${tool}" >/dev/null || { echo "cluster-up: ${tool} is required" >&2; exit 1; }
  done
}
need docker kind kubectl

step() { echo "==> $*" >&2; }

# A local registry the cluster pulls from as localhost:5001 (kind's documented recipe).
if [[ "$(docker inspect -f '{{.State.Running}}' kind-registry 2>/dev/null || true)" != "true" ]]; then
  step "registry on localhost:${REGISTRY_PORT}"
  docker run -d --restart=always -p "127.0.0.1:${REGISTRY_PORT}:5000" --network bridge --name kind-registry registry:2
fi

if ! kind get clusters | grep -qx "${CLUSTER}"; then
  step "kind cluster ${CLUSTER} (${KIND_NODE_IMAGE})"
  kind create cluster --name "${CLUSTER}" --image "${KIND_NODE_IMAGE}" --config - <<KIND
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
containerdConfigPatches:
  - |-
    [plugins."io.containerd.grpc.v1.cri".registry]
      config_path = "/etc/containerd/certs.d"
nodes:
  - role: control-plane
    extraPortMappings:
      - containerPort: 31080
        hostPort: 8080
        listenAddress: 127.0.0.1
KIND
fi
for node in $(kind get nodes --name "${CLUSTER}"); do
  docker exec "${node}" mkdir -p "/etc/containerd/certs.d/localhost:${REGISTRY_PORT}"
  printf '[host."http://kind-registry:5000"]\n' | docker exec -i "${node}" cp /dev/stdin "/etc/containerd/certs.d/localhost:${REGISTRY_PORT}/hosts.toml"
done
docker network connect kind kind-registry 2>/dev/null || true

step "cert-manager v${CERT_MANAGER_VERSION}"
kubectl apply -f "$(gh cert-manager/cert-manager "v${CERT_MANAGER_VERSION}" cert-manager.yaml)"
kubectl -n cert-manager wait --for=condition=Available deployment --all --timeout=300s

step "Knative Serving ${KNATIVE_VERSION} + Kourier"
kubectl apply -f "$(gh knative/serving "knative-v${KNATIVE_VERSION}" serving-crds.yaml)"
kubectl wait --for=condition=Established crd --all --timeout=120s
kubectl apply -f "$(gh knative/serving "knative-v${KNATIVE_VERSION}" serving-core.yaml)"
kubectl apply -f "$(gh knative-extensions/net-kourier "knative-v${KNATIVE_VERSION}" kourier.yaml)"
kubectl patch configmap/config-network -n knative-serving --type merge \
  -p '{"data":{"ingress-class":"kourier.ingress.networking.knative.dev"}}'
# Kourier on a fixed NodePort, mapped to 127.0.0.1:8080 by the kind config above.
kubectl -n kourier-system patch service kourier --type merge \
  -p '{"spec":{"type":"NodePort","ports":[{"name":"http2","port":80,"targetPort":8080,"nodePort":31080}]}}'
kubectl patch configmap/config-domain -n knative-serving --type merge -p '{"data":{"127.0.0.1.sslip.io":""}}'

step "Knative Eventing ${KNATIVE_VERSION}"
kubectl apply -f "$(gh knative/eventing "knative-v${KNATIVE_VERSION}" eventing-crds.yaml)"
kubectl wait --for=condition=Established crd --all --timeout=120s
kubectl apply -f "$(gh knative/eventing "knative-v${KNATIVE_VERSION}" eventing-core.yaml)"

step "RabbitMQ operators and eventing-rabbitmq ${EVENTING_RABBITMQ_VERSION}"
kubectl apply -f "$(gh rabbitmq/cluster-operator "v${RABBITMQ_CLUSTER_OPERATOR_VERSION}" cluster-operator.yml)"
kubectl apply -f "$(gh rabbitmq/messaging-topology-operator "v${RABBITMQ_TOPOLOGY_OPERATOR_VERSION}" messaging-topology-operator-with-certmanager.yaml)"
kubectl apply -f "$(gh knative-extensions/eventing-rabbitmq "knative-v${EVENTING_RABBITMQ_VERSION}" rabbitmq-broker.yaml)"

step "waiting for the control planes"
for ns in knative-serving kourier-system knative-eventing rabbitmq-system; do
  kubectl -n "${ns}" wait --for=condition=Available deployment --all --timeout=600s
done

step "patching Knative's ConfigMaps with config/cluster"
for f in "${root}"/config/cluster/*.yaml; do
  name="$(kubectl create --dry-run=client -o jsonpath='{.metadata.name}' -f "${f}")"
  ns="$(kubectl create --dry-run=client -o jsonpath='{.metadata.namespace}' -f "${f}")"
  kubectl -n "${ns}" patch configmap "${name}" --type merge --patch-file "${f}"
done
# Components read config-observability at start.
kubectl -n knative-serving rollout restart deployment
kubectl -n knative-eventing rollout restart deployment

cat >&2 <<DONE
==> cluster ${CLUSTER} is ready.
    GPU nodes: label and taint them (docs/deploy.md, "GPU nodes"); kind has none unless you add them.
    Next: hack/deploy.sh dev
DONE
