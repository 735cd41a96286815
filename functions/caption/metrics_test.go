package function

import (
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// TestLabelledCountersStartAtZero checks that every known label value is
// exported at zero before its first increment, so that Prometheus sees the
// first one as an increase.
func TestLabelledCountersStartAtZero(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := newMetrics(reg); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if v := m.GetCounter().GetValue(); v != 0 {
				t.Errorf("%s %v = %v at start", mf.GetName(), m.GetLabel(), v)
			}
			for _, lp := range m.GetLabel() {
				got[mf.GetName()] = append(got[mf.GetName()], lp.GetValue())
			}
		}
	}
	for family, want := range map[string]string{
		"edgewatch_caption_events_total":       "bad_input captioned duplicate failed not_configured",
		"edgewatch_caption_vlm_requests_total": "bad_response misconfigured ok rate_limited rejected server_error timeout unreachable",
		"edgewatch_caption_cache_hits_total":   "cache in_flight",
		"edgewatch_caption_vlm_tokens_total":   "completion prompt",
	} {
		values := got[family]
		sort.Strings(values)
		if s := strings.Join(values, " "); s != want {
			t.Errorf("%s at start: %q, want %q", family, s, want)
		}
	}
}
