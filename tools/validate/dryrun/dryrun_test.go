package dryrun

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/edgewatch/edgewatch/tools/validate/manifest"
)

const goodTrigger = `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: motion-detect
  namespace: edgewatch
spec:
  broker: default
  filter:
    attributes:
      type: dev.edgewatch.motion.detected
  subscriber:
    ref:
      apiVersion: serving.knative.dev/v1
      kind: Service
      name: detect
  delivery:
    retry: 8
    backoffPolicy: exponential
    backoffDelay: PT0.5S
`

const goodService = `apiVersion: serving.knative.dev/v1
kind: Service
metadata:
  name: alert
spec:
  template:
    spec:
      containerConcurrency: 10
      containers:
        - image: ghcr.io/edgewatch/alert:latest
          ports:
            - containerPort: 8080
`

const goodDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: motion-source
spec:
  selector:
    matchLabels:
      app: motion-source
  template:
    metadata:
      labels:
        app: motion-source
    spec:
      containers:
        - name: motion-source
          image: ghcr.io/edgewatch/motion-source:latest
`

func doc(t *testing.T, yaml string) manifest.Document {
	t.Helper()
	docs, err := manifest.Split("fixture.yaml", []byte(yaml))
	if err != nil || len(docs) != 1 {
		t.Fatalf("fixture: %v (%d documents)", err, len(docs))
	}
	return docs[0]
}

func TestObjects(t *testing.T) {
	c := checker(t)
	tests := []struct {
		name   string
		yaml   string
		status Status
		want   string // in the message
	}{
		{"valid Trigger", goodTrigger, Passed, ""},
		{"valid Service", goodService, Passed, ""},
		{"valid Deployment", goodDeployment, Passed, ""},
		{"Trigger: unknown field in subscriber",
			strings.Replace(goodTrigger, "    ref:\n", "    url: http://detect\n    ref:\n", 1), Failed, `unknown field "spec.subscriber.url"`},
		{"Trigger: retry is a string",
			strings.Replace(goodTrigger, "retry: 8", `retry: "eight"`, 1), Failed, "spec.delivery.retry"},
		{"Trigger: unknown metadata field",
			strings.Replace(goodTrigger, "  namespace: edgewatch\n", "  namespace: edgewatch\n  lables: {}\n", 1), Failed, `unknown field "metadata.lables"`},
		{"Trigger: invalid name",
			strings.Replace(goodTrigger, "name: motion-detect", "name: Motion_Detect", 1), Failed, "metadata.name"},
		{"Trigger: label value with a space",
			strings.Replace(goodTrigger, "  namespace: edgewatch\n", "  namespace: edgewatch\n  labels:\n    app: motion detect\n", 1), Failed, "metadata.labels"},
		{"Trigger: misspelt apiVersion",
			strings.Replace(goodTrigger, "eventing.knative.dev/v1", "eventing.knative.dev/v2", 1), Failed, "serves no"},
		{"Trigger: namespace that does not exist",
			strings.Replace(goodTrigger, "namespace: edgewatch", "namespace: edgewach", 1), Failed, "not found"},
		// spec of a Trigger keeps unknown fields (x-kubernetes-preserve-unknown-fields
		// in Knative's CRD), so the API server accepts a misspelt top-level spec field:
		// the in-process strict decoding of tools/validate is what catches that one.
		{"Trigger: unknown top-level spec field passes the schema",
			strings.Replace(goodTrigger, "  broker: default\n", "  broker: default\n  filtr: {}\n", 1), Passed, ""},
		{"Service: containerConcurrency is a string",
			strings.Replace(goodService, "containerConcurrency: 10", `containerConcurrency: "ten"`, 1), Failed, "containerConcurrency"},
		{"Service: unknown container field",
			strings.Replace(goodService, "          ports:\n", "          imagePullPolicie: Always\n          ports:\n", 1), Failed, "imagePullPolicie"},
		{"Deployment: selector does not match the template",
			strings.Replace(goodDeployment, "      app: motion-source\n  template", "      app: motion\n  template", 1), Failed, "selector"},
		{"Deployment: replicas is negative",
			strings.Replace(goodDeployment, "spec:\n  selector", "spec:\n  replicas: -1\n  selector", 1), Failed, "spec.replicas"},
		{"ConfigMap: invalid key",
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cameras\ndata:\n  bad key: x\n", Failed, "data[bad key]"},
		{"Namespace that exists is an update",
			"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: edgewatch\n", Passed, ""},
		{"RabbitmqCluster is skipped",
			"apiVersion: rabbitmq.com/v1beta1\nkind: RabbitmqCluster\nmetadata:\n  name: rabbitmq\nspec:\n  replicas: 1\n", Skipped, "not obtainable"},
		{"PodMonitor is skipped",
			"apiVersion: monitoring.coreos.com/v1\nkind: PodMonitor\nmetadata:\n  name: edgewatch\nspec: {}\n", Skipped, "not obtainable"},
		{"misspelt core kind is not skipped",
			"apiVersion: v1\nkind: ConfigMapp\nmetadata:\n  name: x\n", Failed, "serves no"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := c.Check(context.Background(), doc(t, tc.yaml))
			if o.Status != tc.status || !strings.Contains(o.Message, tc.want) {
				t.Fatalf("status %d, message %q; want status %d with %q", o.Status, o.Message, tc.status, tc.want)
			}
			t.Logf("%s", o.Message)
		})
	}
	assertNothingStored(t)
}

// copyTree copies the good test tree of tools/validate into a temporary
// directory, for a case to break.
func copyTree(t *testing.T) string {
	t.Helper()
	src := filepath.Join("..", "testdata", "good")
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestTrees(t *testing.T) {
	checker(t)
	good := copyTree(t)
	res, err := Run(context.Background(), server.Config(), Options{Root: good, CRDFiles: crdFiles})
	if err != nil {
		t.Fatal(err)
	}
	if ps := res.Problems.Problems(); len(ps) > 0 {
		t.Fatalf("good tree: %v", ps)
	}
	if res.Count(Passed) == 0 {
		t.Fatal("good tree: nothing was checked")
	}

	bad := copyTree(t)
	f := filepath.Join(bad, "config", "triggers", "triggers.yaml")
	data, err := os.ReadFile(f)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(data), "  subscriber:\n", "  subscriber:\n    url: http://x\n", 1)
	if broken == string(data) {
		t.Fatal("fixture: no subscriber to break")
	}
	if err := os.WriteFile(f, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err = Run(context.Background(), server.Config(), Options{Root: bad, CRDFiles: crdFiles})
	if err != nil {
		t.Fatal(err)
	}
	ps := res.Problems.Problems()
	if len(ps) == 0 {
		t.Fatal("broken Trigger passed the dry run")
	}
	for _, p := range ps {
		if !strings.Contains(p.Message, "spec.subscriber.url") {
			t.Errorf("unexpected problem: %v", p)
		}
		t.Log(p)
	}
}

// TestRepository dry-runs the repository's own config/ and deploy/.
func TestRepository(t *testing.T) {
	checker(t)
	res, err := Run(context.Background(), server.Config(), Options{Root: filepath.Join("..", "..", ".."), CRDFiles: crdFiles})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range res.Problems.Problems() {
		t.Error(p)
	}
	for _, o := range res.Outcomes {
		if o.Status == Skipped {
			t.Logf("skipped %s: %s: %s", o.Doc.Path, o.Doc.ID(), o.Message)
		}
		for _, w := range o.Warnings {
			t.Logf("warning %s: %s: %s", o.Doc.Path, o.Doc.ID(), w)
		}
	}
	t.Logf("%d CRDs; %d objects accepted, %d skipped, %d rejected",
		len(res.CRDs), res.Count(Passed), res.Count(Skipped), res.Count(Failed))
	for _, kind := range []string{"Trigger", "Broker", "Service", "Namespace"} {
		if !checkedKind(res, kind) {
			t.Errorf("no %s was accepted: the tree was not rendered as expected", kind)
		}
	}
	assertNothingStored(t)
}

// assertNothingStored fails when a dry run stored an object.
func assertNothingStored(t *testing.T) {
	t.Helper()
	c := checker(t)
	for _, r := range []schema.GroupVersionResource{
		{Group: "eventing.knative.dev", Version: "v1", Resource: "triggers"},
		{Group: "eventing.knative.dev", Version: "v1", Resource: "brokers"},
		{Group: "serving.knative.dev", Version: "v1", Resource: "services"},
		{Group: "apps", Version: "v1", Resource: "deployments"},
		{Version: "v1", Resource: "configmaps"},
	} {
		l, err := c.Client().Resource(r).Namespace(DefaultNamespace).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatalf("list %s: %v", r.Resource, err)
		}
		if n := len(l.Items); n > 0 {
			t.Errorf("%d %s stored in %s: the dry run wrote to the API server", n, r.Resource, DefaultNamespace)
		}
	}
}

func checkedKind(res *Result, kind string) bool {
	for _, o := range res.Outcomes {
		if o.Status == Passed && o.Doc.Kind == kind {
			return true
		}
	}
	return false
}

// TestTreeSources needs no API server: it checks what Tree renders from the
// repository.
func TestTreeSources(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	sources, problems, err := Tree(root, filepath.Join(root, "config"), filepath.Join(root, "deploy"))
	if err != nil {
		t.Fatal(err)
	}
	if ps := problems.Problems(); len(ps) > 0 {
		t.Fatalf("render: %v", ps)
	}
	names := map[string]int{}
	for _, s := range sources {
		names[s.Name] = len(s.Docs)
	}
	for _, want := range []string{"config (kustomize build)", "deploy/dev (kustomize build)", "deploy/prod (kustomize build)", "deploy/external (kustomize build)"} {
		if names[want] == 0 {
			t.Errorf("%s: no objects rendered (sources: %v)", want, names)
		}
	}
	var loose []string
	for _, s := range sources {
		if strings.HasSuffix(s.Name, "(files no kustomization renders)") {
			for _, d := range s.Docs {
				loose = append(loose, d.Path)
			}
		}
	}
	if !contains(loose, "config/cluster/serving-features.yaml") {
		t.Errorf("Knative ConfigMap patches not checked as written: %v", loose)
	}
	if contains(loose, "config/sources/cameras.yaml") {
		t.Errorf("a configMapGenerator input was taken for an object: %v", loose)
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestUnobtainable(t *testing.T) {
	for gk, want := range map[schema.GroupKind]bool{
		{Group: "rabbitmq.com", Kind: "RabbitmqCluster"}:              true,
		{Group: "eventing.knative.dev", Kind: "RabbitmqBrokerConfig"}: true,
		{Group: "monitoring.coreos.com", Kind: "PodMonitor"}:          true,
		{Group: "monitoring.coreos.com", Kind: "ServiceMonitor"}:      true,
		{Group: "kustomize.config.k8s.io", Kind: "Component"}:         true,
		{Group: "eventing.knative.dev", Kind: "Trigger"}:              false,
		{Group: "serving.knative.dev", Kind: "Service"}:               false,
		{Group: "", Kind: "ConfigMap"}:                                false,
	} {
		if _, got := Unobtainable(gk); got != want {
			t.Errorf("Unobtainable(%v) = %v, want %v", gk, got, want)
		}
	}
}
