package metrics

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestPrometheusName(t *testing.T) {
	cases := []struct {
		in   Instrument
		want string
		kind Kind
	}{
		{Instrument{Name: "kn.serving.invocation.duration", Type: "Histogram", Unit: "s"}, "kn_serving_invocation_duration_seconds", Histogram},
		{Instrument{Name: "kn.revision.pods.not_ready.count", Type: "ObservableGauge", Unit: "{pod}"}, "kn_revision_pods_not_ready_count", Gauge},
		{Instrument{Name: "kn.revision.request.queued", Type: "UpDownCounter", Unit: "{request}"}, "kn_revision_request_queued", Gauge},
		{Instrument{Name: "kn.revision.rps.stable", Type: "ObservableGauge", Unit: "{request}/s"}, "kn_revision_rps_stable_per_second", Gauge},
		{Instrument{Name: "kn.workqueue.adds", Type: "Counter", Unit: "{item}"}, "kn_workqueue_adds_total", Counter},
		{Instrument{Name: "process.memory", Type: "Gauge", Unit: "By"}, "process_memory_bytes", Gauge},
		{Instrument{Name: "cpu.utilization", Type: "Gauge", Unit: "1"}, "cpu_utilization_ratio", Gauge},
	}
	for _, tc := range cases {
		got, kind := PrometheusName(tc.in)
		if got != tc.want || kind != tc.kind {
			t.Errorf("PrometheusName(%s) = %s %s, want %s %s", tc.in.Name, got, kind, tc.want, tc.kind)
		}
	}
}

// TestKnativeInstrumentsMatchSource checks the list of Knative instruments
// against Knative's source in the module cache: each is declared with that
// name, instrument type and unit. A Knative upgrade that renames one fails
// here rather than as an empty dashboard panel.
func TestKnativeInstrumentsMatchSource(t *testing.T) {
	dirs := map[string]string{}
	for _, in := range KnativeInstruments() {
		if _, ok := dirs[in.Module]; ok {
			continue
		}
		cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", in.Module)
		cmd.Env = append(os.Environ(), "GOWORK=off") // this module is outside the workspace
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go list %s: %v", in.Module, err)
		}
		dirs[in.Module] = strings.TrimSpace(string(out))
		if dirs[in.Module] == "" {
			t.Fatalf("module %s is not in the module cache (go mod download)", in.Module)
		}
	}
	sources := map[string]string{}
	for mod, dir := range dirs {
		var b strings.Builder
		err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "vendor" || d.Name() == "third_party" || d.Name() == "test") {
				return filepath.SkipDir
			}
			if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
				data, err := os.ReadFile(path)
				if err != nil {
					return err
				}
				b.Write(data)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		sources[mod] = b.String()
	}
	for _, in := range KnativeInstruments() {
		src := sources[in.Module]
		if in.Name == "http.server.request.duration" {
			// otelhttp takes the name from its semantic-conventions package.
			if !strings.Contains(src, "http.server.request.duration") && !strings.Contains(src, "semconv") {
				t.Errorf("%s: not found in %s", in.Name, in.Module)
			}
			continue
		}
		re := regexp.MustCompile(`(?s)\.(?:Int64|Float64)` + regexp.QuoteMeta(in.Type) + `\(\s*"` + regexp.QuoteMeta(in.Name) + `",(.{0,400}?)\)\s*\)?\s*\n`)
		m := re.FindStringSubmatch(src)
		if m == nil {
			t.Errorf("%s: no %s declared with this name in %s", in.Name, in.Type, in.Module)
			continue
		}
		unit := ""
		if u := regexp.MustCompile(`WithUnit\("([^"]*)"\)`).FindStringSubmatch(m[1]); u != nil {
			unit = u[1]
		}
		if unit != in.Unit {
			t.Errorf("%s: unit %q in source, %q in the list", in.Name, unit, in.Unit)
		}
	}
}
