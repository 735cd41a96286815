package dryrun

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	eventingv1 "knative.dev/eventing/pkg/apis/eventing/v1"
	"sigs.k8s.io/yaml"

	"github.com/edgewatch/edgewatch/tools/validate/manifest"
)

// knNamespace is where TestKnTriggerCreate creates its Triggers for real,
// apart from DefaultNamespace, where nothing may be stored.
const knNamespace = "edgewatch-kn"

var (
	triggersGVR = schema.GroupVersionResource{Group: "eventing.knative.dev", Version: "v1", Resource: "triggers"}
	servicesGVR = schema.GroupVersionResource{Group: "serving.knative.dev", Version: "v1", Resource: "services"}
)

// TestKnTriggerCreate creates each Trigger of config/triggers with the kn
// command docs/deploy.md shows (`kn trigger create NAME --broker B --filter
// K=V… --sink ksvc:S`) against the real API server and compares the routing
// of what kn created (broker, filter attributes, subscriber) with the file.
// What kn cannot say (delivery, annotations) is logged: a Trigger made with kn
// relies on the Broker's delivery. hack/dry-run.sh builds kn and sets
// EDGEWATCH_KN.
func TestKnTriggerCreate(t *testing.T) {
	c := checker(t)
	kn := os.Getenv("EDGEWATCH_KN")
	if kn == "" {
		t.Skip("EDGEWATCH_KN is not set; run hack/dry-run.sh (make dry-run)")
	}
	ctx := context.Background()
	if err := c.EnsureNamespaces(ctx, []string{knNamespace}); err != nil {
		t.Fatal(err)
	}
	kubeconfig := writeKubeconfig(t)
	triggers := configTriggers(t)
	if len(triggers) == 0 {
		t.Fatal("no Trigger in config/triggers")
	}

	// kn checks that a ksvc: sink exists; the subscribers are created for real, bare.
	for _, name := range subscribers(triggers) {
		svc := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "serving.knative.dev/v1", "kind": "Service",
			"metadata": map[string]any{"name": name, "namespace": knNamespace},
			"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
				"containers": []any{map[string]any{"image": "ghcr.io/edgewatch/" + name}}}}},
		}}
		if _, err := c.Client().Resource(servicesGVR).Namespace(knNamespace).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create Service %s: %v", name, err)
		}
	}
	t.Cleanup(func() {
		for _, r := range []schema.GroupVersionResource{triggersGVR, servicesGVR} {
			_ = c.Client().Resource(r).Namespace(knNamespace).DeleteCollection(context.Background(), metav1.DeleteOptions{}, metav1.ListOptions{})
		}
	})

	for _, want := range triggers {
		t.Run(want.Name, func(t *testing.T) {
			args, err := knArgs(want)
			if err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(kn, args...)
			cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "HOME="+t.TempDir())
			out, err := cmd.CombinedOutput()
			t.Logf("kn %s\n%s", strings.Join(args, " "), out)
			if err != nil {
				t.Fatalf("kn trigger create: %v", err)
			}
			u, err := c.Client().Resource(triggersGVR).Namespace(knNamespace).Get(ctx, want.Name, metav1.GetOptions{})
			if err != nil {
				t.Fatalf("the Trigger kn created: %v", err)
			}
			var got eventingv1.Trigger
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &got); err != nil {
				t.Fatal(err)
			}
			compareRouting(t, &got, want)
			if want.Spec.Delivery != nil && got.Spec.Delivery == nil {
				t.Logf("kn wrote no delivery (config/triggers has retry %v, backoff %v %v, timeout %v): the Broker's applies",
					deref(want.Spec.Delivery.Retry), deref(want.Spec.Delivery.BackoffPolicy),
					deref(want.Spec.Delivery.BackoffDelay), deref(want.Spec.Delivery.Timeout))
			}
			for k := range want.Annotations {
				if _, ok := got.Annotations[k]; !ok {
					t.Logf("kn wrote no annotation %s", k)
				}
			}
		})
	}
}

// compareRouting fails when got routes differently from want: another
// broker, other filter attributes, or another subscriber.
func compareRouting(t *testing.T, got *eventingv1.Trigger, want *eventingv1.Trigger) {
	t.Helper()
	if got.Spec.Broker != want.Spec.Broker {
		t.Errorf("broker %q, config/triggers has %q", got.Spec.Broker, want.Spec.Broker)
	}
	var gotAttrs, wantAttrs eventingv1.TriggerFilterAttributes
	if got.Spec.Filter != nil {
		gotAttrs = got.Spec.Filter.Attributes
	}
	if want.Spec.Filter != nil {
		wantAttrs = want.Spec.Filter.Attributes
	}
	if !reflect.DeepEqual(gotAttrs, wantAttrs) {
		t.Errorf("filter attributes %v, config/triggers has %v", gotAttrs, wantAttrs)
	}
	if len(got.Spec.Filters) > 0 {
		t.Errorf("kn wrote spec.filters %v, which the RabbitMQ Broker ignores", got.Spec.Filters)
	}
	g, w := got.Spec.Subscriber.Ref, want.Spec.Subscriber.Ref
	if g == nil || w == nil {
		t.Fatalf("subscriber ref %v, config/triggers has %v", g, w)
	}
	if g.APIVersion != w.APIVersion || g.Kind != w.Kind || g.Name != w.Name {
		t.Errorf("subscriber %s %s %s, config/triggers has %s %s %s", g.APIVersion, g.Kind, g.Name, w.APIVersion, w.Kind, w.Name)
	}
	if g.Namespace != "" && g.Namespace != knNamespace {
		t.Errorf("subscriber namespace %q, want the Trigger's %q", g.Namespace, knNamespace)
	}
}

// knArgs is the documented kn command that makes want's routing.
func knArgs(want *eventingv1.Trigger) ([]string, error) {
	ref := want.Spec.Subscriber.Ref
	if ref == nil || ref.APIVersion != "serving.knative.dev/v1" || ref.Kind != "Service" {
		return nil, fmt.Errorf("subscriber %v is not a Knative Service: no ksvc: sink says it", want.Spec.Subscriber)
	}
	args := []string{"trigger", "create", want.Name, "--namespace", knNamespace, "--broker", want.Spec.Broker}
	if want.Spec.Filter != nil {
		keys := make([]string, 0, len(want.Spec.Filter.Attributes))
		for k := range want.Spec.Filter.Attributes {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			args = append(args, "--filter", k+"="+want.Spec.Filter.Attributes[k])
		}
	}
	return append(args, "--sink", "ksvc:"+ref.Name), nil
}

// configTriggers reads every Trigger of config/triggers.
func configTriggers(t *testing.T) []*eventingv1.Trigger {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "config", "triggers", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*eventingv1.Trigger
	for _, f := range files {
		docs, err := manifest.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range docs {
			if d.Kind != "Trigger" {
				continue
			}
			var tr eventingv1.Trigger
			if err := yaml.UnmarshalStrict(d.YAML, &tr); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, &tr)
		}
	}
	return out
}

// subscribers lists the Knative Services the Triggers deliver to.
func subscribers(triggers []*eventingv1.Trigger) []string {
	seen := map[string]bool{}
	var out []string
	for _, tr := range triggers {
		if ref := tr.Spec.Subscriber.Ref; ref != nil && ref.Kind == "Service" && !seen[ref.Name] {
			seen[ref.Name] = true
			out = append(out, ref.Name)
		}
	}
	sort.Strings(out)
	return out
}

// writeKubeconfig writes a kubeconfig for the shared API server, with
// knNamespace as its namespace, and returns its path.
func writeKubeconfig(t *testing.T) string {
	t.Helper()
	cfg := server.Config()
	data, err := yaml.Marshal(map[string]any{
		"apiVersion": "v1", "kind": "Config", "current-context": "dryrun",
		"clusters": []any{map[string]any{"name": "dryrun",
			"cluster": map[string]any{"server": cfg.Host, "insecure-skip-tls-verify": true}}},
		"users":    []any{map[string]any{"name": "admin", "user": map[string]any{"token": cfg.BearerToken}}},
		"contexts": []any{map[string]any{"name": "dryrun", "context": map[string]any{"cluster": "dryrun", "user": "admin", "namespace": knNamespace}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// deref prints what p points to, or "none".
func deref[T any](p *T) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}
