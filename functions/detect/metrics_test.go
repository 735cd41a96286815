package function

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// series returns the series of a family keyed by their labels
// ("name=value," joined), each with its counter value or, for a histogram,
// its number of observations.
func series(t *testing.T, g prometheus.Gatherer, family string) map[string]float64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
		for _, m := range mf.GetMetric() {
			key := ""
			for _, lp := range m.GetLabel() {
				key += lp.GetName() + "=" + lp.GetValue() + ","
			}
			out[key] = m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount())
		}
	}
	return out
}

// TestLabelledCountersStartAtZero checks that every known label value is
// exported before its first increment, so that Prometheus sees the first
// one as an increase.
func TestLabelledCountersStartAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	m, err := newMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	for family, want := range map[string][]string{
		"edgewatch_detect_detections_total": {"class=accident,", "class=fire,", "class=gun,", "class=knife,"},
		"edgewatch_detect_events_total":     {"via=reply,", "via=sink,"},
		"edgewatch_detect_errors_total": {"reason=not_ready,", "reason=wrong_type,", "reason=content_type,",
			"reason=empty_image,", "reason=image_too_large,", "reason=corrupt_image,", "reason=bad_extension,",
			"reason=inference,", "reason=delivery,", "reason=no_sink,", "reason=encode,"},
	} {
		got := series(t, reg, family)
		if len(got) != len(want) {
			t.Errorf("%s: %d series at start, want %d: %v", family, len(got), len(want), got)
		}
		for _, w := range want {
			if v, ok := got[w]; !ok || v != 0 {
				t.Errorf("%s{%s}: present %v, value %v; want present at 0", family, w, ok, v)
			}
		}
	}
	if got := series(t, reg, "edgewatch_detect_inference_seconds"); len(got) != 0 {
		t.Errorf("inference histogram before the model loads: %v", got)
	}
	m.started("cpu", "pattern")
	if got := series(t, reg, "edgewatch_detect_inference_seconds"); len(got) != 1 || got["backend=cpu,"] != 0 {
		t.Errorf("inference histogram after the model loaded: %v, want one empty series for backend cpu", got)
	}
}

// TestDefaultRegistryHasProcessMetrics checks that detect, whose memory is
// the one that matters, exports the Go runtime's and the process's metrics.
func TestDefaultRegistryHasProcessMetrics(t *testing.T) {
	f := New()
	for _, family := range []string{"process_resident_memory_bytes", "process_cpu_seconds_total", "go_goroutines", "go_memstats_heap_inuse_bytes"} {
		mfs, err := f.reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, mf := range mfs {
			found = found || mf.GetName() == family
		}
		if !found {
			t.Errorf("%s is not exported", family)
		}
	}
}
