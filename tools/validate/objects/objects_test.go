package objects

import (
	"context"
	"strings"
	"testing"

	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	servingv1 "knative.dev/serving/pkg/apis/serving/v1"

	"github.com/edgewatch/edgewatch/tools/validate/manifest"
)

func docs(t *testing.T, yaml string) []manifest.Document {
	t.Helper()
	ds, err := manifest.Split("test.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

const gpuService = `apiVersion: serving.knative.dev/v1
kind: Service
metadata: {name: detect, namespace: edgewatch}
spec:
  template:
    spec:
      nodeSelector: {nvidia.com/gpu.present: "true"}
      containers:
        - image: registry.example.com/detect
          resources: {limits: {nvidia.com/gpu: "1"}}
`

// TestClusterFlagsDecide shows that the cluster's config-features decide
// whether a GPU Service is valid, as Knative's webhook would.
func TestClusterFlagsDecide(t *testing.T) {
	svc := docs(t, gpuService)[0]

	v, err := NewValidator(context.Background(), Cluster{})
	if err != nil {
		t.Fatal(err)
	}
	if _, errs := v.Validate(svc); len(errs) != 1 || !strings.Contains(errs[0].Error(), "nodeSelector") {
		t.Errorf("default flags: got %v, want nodeSelector refused", errs)
	}

	cluster, err := ClusterFromDocuments(docs(t, `apiVersion: v1
kind: ConfigMap
metadata: {name: config-features, namespace: knative-serving}
data: {kubernetes.podspec-nodeselector: enabled}
`))
	if err != nil {
		t.Fatal(err)
	}
	v, err = NewValidator(context.Background(), cluster)
	if err != nil {
		t.Fatal(err)
	}
	o, errs := v.Validate(svc)
	if len(errs) != 0 {
		t.Fatalf("nodeselector enabled: %v", errs)
	}
	s := o.Value.(*servingv1.Service)
	if s.Spec.Template.Spec.TimeoutSeconds == nil || *s.Spec.Template.Spec.TimeoutSeconds != 300 {
		t.Errorf("SetDefaults did not run: timeoutSeconds = %v", s.Spec.Template.Spec.TimeoutSeconds)
	}
}

func TestBadClusterConfig(t *testing.T) {
	_, err := NewValidator(context.Background(), Cluster{ServingAutoscaler: map[string]string{"container-concurrency-target-default": "-3"}})
	if err == nil {
		t.Error("no error for an invalid config-autoscaler")
	}
}

func TestWarningsAreNotErrors(t *testing.T) {
	v, err := NewValidator(context.Background(), Cluster{})
	if err != nil {
		t.Fatal(err)
	}
	// A Trigger with a dependency on nothing is fine; one without a
	// subscriber is not.
	o, errs := v.Validate(docs(t, `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata: {name: t, namespace: edgewatch}
spec:
  broker: default
  subscriber: {uri: http://example.com/}
`)[0])
	if len(errs) != 0 {
		t.Errorf("valid Trigger: %v", errs)
	}
	if _, ok := o.Value.(*eventingv1.Trigger); !ok {
		t.Errorf("decoded into %T", o.Value)
	}
	_, errs = v.Validate(docs(t, "apiVersion: eventing.knative.dev/v1\nkind: Trigger\nmetadata: {name: t}\nspec: {broker: default}\n")[0])
	if len(errs) == 0 {
		t.Error("Trigger without subscriber passed")
	}
}

func TestThirdPartyMirrors(t *testing.T) {
	v, err := NewValidator(context.Background(), Cluster{})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"apiVersion: eventing.knative.dev/v1alpha1\nkind: RabbitmqBrokerConfig\nmetadata: {name: c}\nspec: {queueType: quorum}\n":                                                             "rabbitmqClusterReference is required",
		"apiVersion: eventing.knative.dev/v1alpha1\nkind: RabbitmqBrokerConfig\nmetadata: {name: c}\nspec: {rabbitmqClusterReference: {name: r}, queueType: stream}\n":                        "must be quorum or classic",
		"apiVersion: rabbitmq.com/v1beta1\nkind: RabbitmqCluster\nmetadata: {name: r}\nspec: {replicas: 1, rabbitmq: {additionalConfig: \"not config\"}}\n":                                   "not a rabbitmq.conf",
		"apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata: {name: p}\nspec: {selector: {}, podMetricsEndpoints: [{port: m}]}\n":                                               "selector is empty",
		"apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata: {name: p}\nspec: {selector: {matchLabels: {a: b}}, podMetricsEndpoints: [{port: m, interval: 15 s}]}\n":            "not a Prometheus duration",
		"apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: s}\nspec: {selector: {matchLabels: {a: b}}, endpoints: [{port: m, relabelings: [{action: rename}]}]}\n": "unknown action",
	}
	for doc, want := range cases {
		_, errs := v.Validate(docs(t, doc)[0])
		found := false
		for _, e := range errs {
			found = found || strings.Contains(e.Error(), want)
		}
		if !found {
			t.Errorf("%s: got %v, want an error containing %q", doc, errs, want)
		}
	}
}
