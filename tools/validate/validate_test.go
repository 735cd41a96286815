package validate

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/tools/validate/report"
)

// repoRoot is the edgewatch repository this module lives in.
const repoRoot = "../.."

func run(t *testing.T, root string) []report.Problem {
	t.Helper()
	l, err := Run(context.Background(), Options{Root: root})
	if err != nil {
		t.Fatalf("Run(%s): %v", root, err)
	}
	return l.Problems()
}

func TestGoodTreeHasNoProblems(t *testing.T) {
	for _, p := range run(t, "testdata/good") {
		t.Errorf("unexpected problem: %s", p)
	}
}

// copyTree copies the good fixture into a fresh directory.
func copyTree(t *testing.T) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir("testdata/good", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("testdata/good", path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// edit replaces old with new in a fixture file; old must occur exactly once,
// so that a fixture change cannot silently turn a bad case into a good one.
func edit(old, new string, file string) func(t *testing.T, root string) {
	return func(t *testing.T, root string) {
		t.Helper()
		path := filepath.Join(root, file)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(data), old); n != 1 {
			t.Fatalf("%s: %q occurs %d times, want 1", file, old, n)
		}
		if err := os.WriteFile(path, []byte(strings.Replace(string(data), old, new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// write adds a file to the fixture.
func write(file, content string) func(t *testing.T, root string) {
	return func(t *testing.T, root string) {
		t.Helper()
		path := filepath.Join(root, file)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const triggerHead = `apiVersion: eventing.knative.dev/v1
kind: Trigger
metadata:
  name: extra
  namespace: edgewatch
`

// Pieces of credentials are joined at run time so that this file itself
// holds none.
var (
	slackToken = "xoxb-" + "123456789012-" + "abcdefghijkl"
	password   = "Str0ng" + "Passw0rd"
)

func TestBadTreesFail(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(t *testing.T, root string)
		check  string
		want   []string
	}{
		{"unknown field", edit("containerConcurrency: 16", "containerConcurency: 16", "config/services/detect.yaml"),
			"objects", []string{`unknown field "spec.template.spec.containerConcurency"`}},
		{"activation-scale below 2", edit(`min-scale: "0"`, "min-scale: \"0\"\n        autoscaling.knative.dev/activation-scale: \"1\"", "config/services/detect.yaml"),
			"objects", []string{"activation-scale"}},
		{"tolerations not enabled in config-features", edit("  kubernetes.podspec-tolerations: enabled\n", "", "config/cluster/serving-features.yaml"),
			"objects", []string{"tolerations"}},
		{"initial-scale 0 not allowed by config-autoscaler", edit(`allow-zero-initial-scale: "true"`, `allow-zero-initial-scale: "false"`, "config/cluster/serving-features.yaml"),
			"objects", []string{"initial-scale"}},
		{"two container ports", edit("            - containerPort: 8080\n", "            - containerPort: 8080\n            - containerPort: 9464\n", "config/services/detect.yaml"),
			"objects", []string{"ports"}},
		{"Trigger on a type no one produces", edit("type: dev.edgewatch.detection.fire", "type: dev.edgewatch.detection.smoke", "config/triggers/triggers.yaml"),
			"contract", []string{`"dev.edgewatch.detection.smoke" is not an event type of the contract`, `"dev.edgewatch.detection.fire" of the contract reaches no Trigger`}},
		{"Trigger on an unknown class", edit("class: gun", "class: bicycle", "config/triggers/triggers.yaml"),
			"contract", []string{`class "bicycle" is not an incident class`}},
		{"Trigger without delivery, not deployed", write("config/triggers/extra.yaml", triggerHead+`spec:
  broker: default
  filter:
    attributes:
      type: dev.edgewatch.caption.created
  subscriber:
    ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: alert}
`), "", []string{"spec.delivery is missing", "no kustomization deploys this file"}},
		{"Trigger with spec.filters, bad parallelism, other dead-letter sink", write("config/triggers/extra.yaml", triggerHead+`  annotations:
    rabbitmq.eventing.knative.dev/parallelism: "0"
spec:
  broker: default
  filters:
    - prefix: {type: dev.edgewatch.detection.}
  subscriber:
    ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: alert}
  delivery:
    retry: 3
    deadLetterSink:
      ref: {apiVersion: serving.knative.dev/v1, kind: Service, name: caption}
`), "contract", []string{"spec.filters is ignored", "parallelism", "attributes.type is missing", `deadLetterSink must be the Knative Service "alert"`}},
		{"Trigger subscriber missing from the tree", edit("  name: caption\n  namespace: edgewatch", "  name: captioner\n  namespace: edgewatch", "config/services/caption.yaml"),
			"contract", []string{"names Knative Service edgewatch/caption, which is not in the tree"}},
		{"dashboard queries a metric nobody exports", edit("rate(edgewatch_demo_frames_total{", "rate(edgewatch_demo_frame_total{", "config/monitoring/demo.json"),
			"dashboards", []string{"metric edgewatch_demo_frame_total is exported by nothing"}},
		{"dashboard queries a histogram without _bucket", edit("rate(edgewatch_demo_duration_seconds_bucket[5m])", "rate(edgewatch_demo_duration_seconds[5m])", "config/monitoring/demo.json"),
			"dashboards", []string{"is a histogram"}},
		{"dashboard queries a counter as a histogram", edit("rate(edgewatch_demo_frames_total{", "rate(edgewatch_demo_frames_total_bucket{", "config/monitoring/demo.json"),
			"dashboards", []string{"needs a histogram"}},
		{"dashboard rates a labelled counter not exported from the start", write("config/monitoring/series-at-start.txt", "# nothing\n"),
			"dashboards", []string{"edgewatch_demo_frames_total is a labelled counter whose series are not exported from the start"}},
		{"start list names an undeclared metric", write("config/monitoring/series-at-start.txt", "edgewatch_demo_frames_total\nedgewatch_demo_lost_total\n"),
			"dashboards", []string{"edgewatch_demo_lost_total is listed but no Go source declares it"}},
		{"dashboard with an unknown function", edit("histogram_quantile(", "histogramquantile(", "config/monitoring/demo.json"),
			"dashboards", []string{`unknown function "histogramquantile"`}},
		{"Secret with a value", write("config/services/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\n  namespace: edgewatch\nstringData:\n  password: "+password+"\n"),
			"secrets", []string{"stringData.password holds a value"}},
		{"token in Go source", write("functions/demo/token.go", "package demo\n\nconst hook = \""+slackToken+"\"\n"),
			"secrets", []string{"Slack token in plain text"}},
		{"URL with a password", edit("value: http://vlm.edgewatch.svc.cluster.local/v1/chat/completions", "value: http://vlm:"+password+"@vlm.edgewatch.svc.cluster.local/v1", "config/services/caption.yaml"),
			"secrets", []string{"URL with a password for vlm@vlm.edgewatch.svc.cluster.local"}},
		{"credential env with a literal value", edit("            - name: WEBHOOK_TOKEN\n              valueFrom:\n                secretKeyRef:\n                  name: alert-notify\n                  key: token\n",
			"            - name: WEBHOOK_TOKEN\n              value: "+password+"\n", "config/services/alert.yaml"),
			"secrets", []string{"env WEBHOOK_TOKEN has a literal value"}},
		{"kind the validator does not know", write("config/services/hpa.yaml", "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata:\n  name: x\n"),
			"objects", []string{"unknown apiVersion/kind autoscaling/v2/HorizontalPodAutoscaler"}},
		{"Deployment selector does not select its pods", edit("      labels:\n        app.kubernetes.io/name: motion-source", "      labels:\n        app.kubernetes.io/name: motion", "config/sources/motion-source.yaml"),
			"objects", []string{"does not select"}},
		{"overlay leaves an image without registry", edit("  - name: edgewatch/caption\n    newName: localhost:5001/edgewatch/caption\n", "", "deploy/dev/kustomization.yaml"),
			"images", []string{`image "edgewatch/caption" has no registry`}},
		{"RabbitmqBrokerConfig with both references", edit("    name: rabbitmq\n    namespace: edgewatch\n", "    name: rabbitmq\n    namespace: edgewatch\n    connectionSecret:\n      name: external\n", "config/broker/broker.yaml"),
			"objects", []string{"mutually exclusive"}},
		{"PodMonitor with an unknown field", edit("    - port: user-port", "    - port: user-port\n      scrapeInterval: 15s", "config/monitoring/podmonitor.yaml"),
			"objects", []string{`unknown field "spec.podMetricsEndpoints[0].scrapeInterval"`}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			root := copyTree(t)
			tc.mutate(t, root)
			problems := run(t, root)
			if len(problems) == 0 {
				t.Fatal("no problems found")
			}
			for _, want := range tc.want {
				if !hasProblem(problems, tc.check, want) {
					t.Errorf("no [%s] problem containing %q; got:\n%s", tc.check, want, list(problems))
				}
			}
		})
	}
}

func hasProblem(ps []report.Problem, check, substr string) bool {
	for _, p := range ps {
		if (check == "" || p.Check == check) && strings.Contains(p.String(), substr) {
			return true
		}
	}
	return false
}

func list(ps []report.Problem) string {
	var b strings.Builder
	for _, p := range ps {
		b.WriteString("  " + p.String() + "\n")
	}
	return b.String()
}

// TestRepository validates the repository's own config/ and deploy/ trees,
// one subtest per kind of check, so that a failure says which part broke.
func TestRepository(t *testing.T) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	l, err := Run(context.Background(), Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	byCheck := map[string][]report.Problem{}
	for _, p := range l.Problems() {
		byCheck[p.Check] = append(byCheck[p.Check], p)
	}
	for _, check := range []string{"yaml", "objects", "kustomize", "images", "contract", "dashboards", "secrets"} {
		t.Run(check, func(t *testing.T) {
			if ps := byCheck[check]; len(ps) > 0 {
				t.Errorf("%d problem(s):\n%s", len(ps), list(ps))
			}
		})
		delete(byCheck, check)
	}
	for check, ps := range byCheck {
		t.Errorf("[%s] %d problem(s):\n%s", check, len(ps), list(ps))
	}
}
