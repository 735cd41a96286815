package broker

import (
	"io"
	"log/slog"
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgewatch/edgewatch/internal/triggers"
)

// TestSeriesStartAtZero checks that a new broker exports every refusal
// reason and, for every dispatcher of the committed Triggers, its outcomes,
// failed attempts, dead letters and unparsable messages at zero before any
// message: the first of each is then an increase that rate() sees. It
// needs no RabbitMQ, which New does not touch.
func TestSeriesStartAtZero(t *testing.T) {
	ts := loadCommitted(t)
	services := map[string]string{}
	for _, tr := range ts {
		for _, d := range []*triggers.Destination{&tr.Subscriber, tr.DeadLetterSink()} {
			if d != nil && d.Ref != nil {
				services[d.Ref.Name] = "http://127.0.0.1:9/"
			}
		}
	}
	reg := prometheus.NewRegistry()
	_, err := New(Config{AMQPURL: "amqp://127.0.0.1:9/", Namespace: ts[0].Namespace, Name: ts[0].Broker, UID: "metrics",
		IngressURL: "http://127.0.0.1:9/", Triggers: ts, Resolver: triggers.NewStaticResolver(services),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if v := m.GetCounter().GetValue() + float64(m.GetHistogram().GetSampleCount()); v != 0 {
				t.Errorf("%s %v = %v at start", mf.GetName(), m.GetLabel(), v)
			}
			var labels []string
			for _, lp := range m.GetLabel() {
				labels = append(labels, lp.GetValue())
			}
			got[mf.GetName()] = append(got[mf.GetName()], strings.Join(labels, "/"))
		}
	}
	has := func(family, series string) {
		t.Helper()
		for _, s := range got[family] {
			if s == series {
				return
			}
		}
		t.Errorf("%s{%s} is not exported at start (have %v)", family, series, got[family])
	}
	reasons := got["edgewatch_broker_ingress_rejected_total"]
	sort.Strings(reasons)
	if s := strings.Join(reasons, " "); s != "forbidden invalid_event method path publish_failed too_large unauthenticated unavailable" {
		t.Errorf("ingress refusal reasons at start: %q", s)
	}
	for _, tr := range ts {
		// Labels come in name order: outcome, stage, trigger.
		for _, o := range []string{outcomeDelivered, outcomeRefused, outcomeDeadLettered, outcomeRequeued} {
			has("edgewatch_broker_dispatch_outcomes_total", o+"/"+stageSubscriber+"/"+tr.Name)
		}
		has("edgewatch_broker_dispatch_failed_attempts_total", stageSubscriber+"/"+tr.Name)
		has("edgewatch_broker_dispatch_duration_seconds", stageSubscriber+"/"+tr.Name)
		has("edgewatch_broker_dead_letters_total", tr.Name)
		has("edgewatch_broker_unparsable_messages_total", tr.Name)
		if tr.DeadLetterSink() != nil {
			for _, o := range []string{outcomeDelivered, outcomeRefused, outcomeRequeued, outcomeReplyDropped} {
				has("edgewatch_broker_dispatch_outcomes_total", o+"/"+stageDeadLetterSink+"/"+tr.Name)
			}
			has("edgewatch_broker_dispatch_failed_attempts_total", stageDeadLetterSink+"/"+tr.Name)
		}
	}
}
