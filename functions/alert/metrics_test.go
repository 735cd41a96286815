package function

import (
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// labelValues returns, for each series of a family, its value of label and
// fails unless every series is at zero.
func labelValues(t *testing.T, g prometheus.Gatherer, family, label string) []string {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, mf := range mfs {
		if mf.GetName() != family {
			continue
		}
		for _, m := range mf.GetMetric() {
			if v := m.GetCounter().GetValue(); v != 0 {
				t.Errorf("%s %v = %v at start", family, m.GetLabel(), v)
			}
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label {
					out = append(out, lp.GetValue())
				}
			}
		}
	}
	sort.Strings(out)
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
	m.channels([]string{"webhook", "ntfy"})
	classes := "accident fire gun knife"
	for _, c := range []struct{ family, label, want string }{
		{"edgewatch_alert_detections_stored_total", "class", classes},
		{"edgewatch_alert_detections_duplicate_total", "class", classes},
		{"edgewatch_alert_incidents_opened_total", "class", classes},
		{"edgewatch_alert_incidents_closed_total", "class", classes},
		{"edgewatch_alert_detections_clamped_total", "class", classes},
		{"edgewatch_alert_events_rejected_total", "reason", "batch caption_refused content_type data malformed too_large type unknown_incident"},
		{"edgewatch_alert_store_errors_total", "op", "attach caption|close|record dead letter|reply|store detection"},
		{"edgewatch_alert_dead_letters_total", "type", "dev.edgewatch.caption.created dev.edgewatch.detection.accident " +
			"dev.edgewatch.detection.fire dev.edgewatch.detection.gun dev.edgewatch.detection.knife " +
			"dev.edgewatch.incident.opened dev.edgewatch.motion.detected other"},
		{"edgewatch_alert_notifications_sent_total", "channel", "ntfy webhook"},
		{"edgewatch_alert_notifications_failed_total", "channel", "ntfy webhook"},
		{"edgewatch_alert_notifications_retried_total", "channel", "ntfy webhook"},
		{"edgewatch_alert_incident_events_sent_total", "type", "closed updated"},
		{"edgewatch_alert_incident_events_retried_total", "type", "closed updated"},
		{"edgewatch_alert_incident_events_failed_total", "type", "closed updated"},
	} {
		sep := " "
		if strings.Contains(c.want, "|") {
			sep = "|"
		}
		if got := strings.Join(labelValues(t, reg, c.family, c.label), sep); got != c.want {
			t.Errorf("%s: %s values at start %q, want %q", c.family, c.label, got, c.want)
		}
	}
}
