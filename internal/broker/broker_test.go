package broker

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgewatch/edgewatch/internal/triggers"
)

const (
	typeMotion   = "dev.edgewatch.motion.detected"
	typeFire     = "dev.edgewatch.detection.fire"
	typeKnife    = "dev.edgewatch.detection.knife"
	typeIncident = "dev.edgewatch.incident.opened"
	typeCaption  = "dev.edgewatch.caption.created"
)

// settle is how long the tests wait for deliveries that must not happen.
const settle = 400 * time.Millisecond

func TestRoutingWithCommittedTriggers(t *testing.T) {
	ts := loadCommitted(t)
	fastDelivery(ts, -1)
	routePerTrigger(ts)
	b := startBroker(t, ts)
	alert, caption, detect := b.sinks["alert"], b.sinks["caption"], b.sinks["detect"]

	// One event that matches no Trigger, then one per route.
	mustAccept(t, b.ingressURL, newEvent("nomatch-1", "dev.edgewatch.unknown", nil, []byte(`{}`), "application/json"))
	mustAccept(t, b.ingressURL, newEvent("incident-1.opened", typeIncident, map[string]string{"class": "accident", "incident": "1"}, []byte(`{}`), "application/json"))
	jpeg := bytes.Repeat([]byte{0xff, 0xd8, 0x00, 0x01}, 300)
	mustAccept(t, b.ingressURL, newEvent("m-1", typeMotion, map[string]string{"regionx": "10", "regiony": "20", "regionw": "320", "regionh": "320"}, jpeg, "image/jpeg"))
	mustAccept(t, b.ingressURL, newEvent("m-1.fire", typeFire, map[string]string{"class": "fire"}, []byte(`{"class":"fire"}`), "application/json"))
	mustAccept(t, b.ingressURL, newEvent("incident-2.opened", typeIncident, map[string]string{"class": "knife", "incident": "2"}, []byte(`{"class":"knife"}`), "application/json"))
	mustAccept(t, b.ingressURL, newEvent("caption-2", typeCaption, map[string]string{"class": "knife", "incident": "2"}, []byte(`{}`), "application/json"))

	eventually(t, 10*time.Second, "four deliveries", func() bool {
		return len(alert.requests("")) >= 2 && len(caption.requests("")) >= 1 && len(detect.requests("")) >= 1
	})
	time.Sleep(settle)

	want := []struct {
		sink *sink
		path string
		id   string
	}{
		{detect, "/t/motion-detect", "m-1"},
		{alert, "/t/detection-fire-alert", "m-1.fire"},
		{caption, "/t/incident-knife-caption", "incident-2.opened"},
		{alert, "/t/caption-alert", "caption-2"},
	}
	total := len(alert.requests("")) + len(caption.requests("")) + len(detect.requests(""))
	if total != len(want) {
		t.Errorf("got %d deliveries in all, want %d: alert=%v caption=%v detect=%v", total, len(want),
			paths(alert), paths(caption), paths(detect))
	}
	for _, w := range want {
		got := w.sink.requests(w.path)
		if len(got) != 1 || got[0].Event == nil || got[0].Event.ID() != w.id {
			t.Errorf("%s: got %d requests %v, want exactly event %s", w.path, len(got), ids(got), w.id)
		}
	}

	// The motion event arrives in binary mode with data and extensions intact.
	m := detect.requests("/t/motion-detect")
	if len(m) == 1 {
		r := m[0]
		if !bytes.Equal(r.Body, jpeg) || r.Header.Get("Content-Type") != "image/jpeg" {
			t.Errorf("motion body/content type changed: %d bytes, %q", len(r.Body), r.Header.Get("Content-Type"))
		}
		for h, v := range map[string]string{"Ce-Regionx": "10", "Ce-Regionw": "320", "Ce-Camera": "cam-1", "Ce-Type": typeMotion,
			"Ce-Source": "/cameras/cam-1", "Ce-Specversion": "1.0", "Ce-Time": "2026-11-29T10:00:00Z"} {
			if got := r.Header.Get(h); got != v {
				t.Errorf("header %s = %q, want %q", h, got, v)
			}
		}
	}
}

func paths(s *sink) []string {
	var out []string
	for _, r := range s.requests("") {
		out = append(out, r.Path)
	}
	return out
}

func ids(rs []received) []string {
	var out []string
	for _, r := range rs {
		if r.Event != nil {
			out = append(out, r.Event.ID())
		}
	}
	return out
}

func TestRetriesUntilSuccess(t *testing.T) {
	ts := loadCommitted(t)
	fastDelivery(ts, -1) // committed retry: 10
	routePerTrigger(ts)
	b := startBroker(t, ts)
	alert := b.sinks["alert"]
	const failures = 3
	alert.setRespond(func(r received, n int) (int, http.Header, []byte) {
		codes := []int{http.StatusServiceUnavailable, http.StatusNotFound, http.StatusTooManyRequests}
		if n <= failures {
			return codes[n-1], nil, nil
		}
		return http.StatusOK, nil, nil
	})
	mustAccept(t, b.ingressURL, newEvent("retry-1.fire", typeFire, map[string]string{"class": "fire"}, []byte(`{}`), "application/json"))
	eventually(t, 10*time.Second, "a successful attempt", func() bool {
		return len(alert.requests("/t/detection-fire-alert")) == failures+1
	})
	time.Sleep(settle)
	if got := len(alert.requests("/t/detection-fire-alert")); got != failures+1 {
		t.Errorf("attempts = %d, want %d", got, failures+1)
	}
	if dl := alert.requests("/dls/detection-fire-alert"); len(dl) != 0 {
		t.Errorf("dead-letter sink got %d events, want none", len(dl))
	}
	if v := testutil.ToFloat64(b.m.outcomes.WithLabelValues("detection-fire-alert", stageSubscriber, outcomeDelivered)); v != 1 {
		t.Errorf("delivered outcomes = %v, want 1", v)
	}
	if v := testutil.ToFloat64(b.m.attempts.WithLabelValues("detection-fire-alert", stageSubscriber, "503")); v != 1 {
		t.Errorf("503 attempts = %v, want 1", v)
	}
	if v := testutil.ToFloat64(b.m.failedAttempts.WithLabelValues("detection-fire-alert", stageSubscriber)); v != failures {
		t.Errorf("failed attempts = %v, want %d", v, failures)
	}
}

func TestDeadLetterAfterRetries(t *testing.T) {
	ts := loadCommitted(t)
	const retry = 2
	fastDelivery(ts, retry)
	routePerTrigger(ts)
	b := startBroker(t, ts)
	alert, detect := b.sinks["alert"], b.sinks["detect"]
	alert.setRespond(func(r received, n int) (int, http.Header, []byte) {
		if r.Path == "/t/detection-fire-alert" {
			return http.StatusInternalServerError, nil, nil
		}
		return http.StatusOK, nil, nil
	})
	// detect is down: a network error, knativeerrorcode -1.
	detectURL := detect.srv.URL
	detect.srv.Close()

	mustAccept(t, b.ingressURL, newEvent("dl-1.fire", typeFire, map[string]string{"class": "fire"}, []byte(`{"a":1}`), "application/json"))
	mustAccept(t, b.ingressURL, newEvent("dl-2", typeMotion, nil, []byte{1, 2, 3}, "image/jpeg"))

	eventually(t, 15*time.Second, "two dead letters", func() bool {
		return len(alert.requests("/dls/detection-fire-alert")) == 1 && len(alert.requests("/dls/motion-detect")) == 1
	})
	if got := len(alert.requests("/t/detection-fire-alert")); got != retry+1 {
		t.Errorf("attempts before dead-lettering = %d, want %d", got, retry+1)
	}
	cases := []struct {
		path, id, dest, code string
		body                 []byte
	}{
		{"/dls/detection-fire-alert", "dl-1.fire", alert.srv.URL + "/t/detection-fire-alert", "500", []byte(`{"a":1}`)},
		{"/dls/motion-detect", "dl-2", detectURL + "/t/motion-detect", "-1", []byte{1, 2, 3}},
	}
	for _, c := range cases {
		r := alert.requests(c.path)[0]
		ev := r.Event
		if ev == nil || ev.ID() != c.id {
			t.Fatalf("%s: not event %s: %+v", c.path, c.id, r)
		}
		if got := ev.Extensions()[ExtErrorDest]; got != c.dest {
			t.Errorf("%s: %s = %v, want %s", c.path, ExtErrorDest, got, c.dest)
		}
		if got := ev.Extensions()[ExtErrorCode]; got != c.code {
			t.Errorf("%s: %s = %v, want %s", c.path, ExtErrorCode, got, c.code)
		}
		if !bytes.Equal(r.Body, c.body) || ev.Extensions()["camera"] != "cam-1" {
			t.Errorf("%s: event changed: body %q, extensions %v", c.path, r.Body, ev.Extensions())
		}
	}
	if v := testutil.ToFloat64(b.m.deadLetters.WithLabelValues("detection-fire-alert")); v != 1 {
		t.Errorf("dead letters metric = %v, want 1", v)
	}
	eventually(t, 5*time.Second, "empty queues", func() bool {
		return queueDepth(t, b.TriggerQueueName(byName(t, ts, "detection-fire-alert"))) == 0
	})
}

func TestDeadLetterSinkDownIsRequeuedNotDropped(t *testing.T) {
	ts := loadCommitted(t)
	fastDelivery(ts, 1)
	routePerTrigger(ts)
	b := startBroker(t, ts)
	alert := b.sinks["alert"]
	const sinkFailures = 5 // more than the sink's 1 retry: needs requeues
	alert.setRespond(func(r received, n int) (int, http.Header, []byte) {
		if r.Path == "/dls/detection-knife-alert" && n > sinkFailures {
			return http.StatusOK, nil, nil
		}
		return http.StatusServiceUnavailable, nil, nil
	})
	mustAccept(t, b.ingressURL, newEvent("dl-3.knife", typeKnife, map[string]string{"class": "knife"}, []byte(`{}`), "application/json"))
	eventually(t, 15*time.Second, "delivery to the dead-letter sink", func() bool {
		return len(alert.requests("/dls/detection-knife-alert")) == sinkFailures+1
	})
	eventually(t, 5*time.Second, "the delivered outcome", func() bool {
		return testutil.ToFloat64(b.m.outcomes.WithLabelValues("detection-knife-alert", stageDeadLetterSink, outcomeDelivered)) == 1
	})
	if v := testutil.ToFloat64(b.m.outcomes.WithLabelValues("detection-knife-alert", stageDeadLetterSink, outcomeRequeued)); v < 2 {
		t.Errorf("requeued outcomes = %v, want at least 2", v)
	}
	time.Sleep(settle)
	if got := len(alert.requests("/dls/detection-knife-alert")); got != sinkFailures+1 {
		t.Errorf("dead-letter sink requests = %d, want %d (no more after success)", got, sinkFailures+1)
	}
}

func TestNoDeliverySpecMeansOneAttemptThenBrokerDLQ(t *testing.T) {
	tr := triggers.Trigger{
		Name: "bare", Namespace: "edgewatch", Broker: "default", Parallelism: 1,
		Filter:     map[string]string{"type": typeFire},
		Subscriber: triggers.Destination{Ref: &triggers.Ref{APIVersion: triggers.ServiceAPIVersion, Kind: triggers.ServiceKind, Name: "alert"}},
	}
	b := startBroker(t, []triggers.Trigger{tr})
	alert := b.sinks["alert"]
	alert.setRespond(func(received, int) (int, http.Header, []byte) { return http.StatusBadGateway, nil, nil })
	mustAccept(t, b.ingressURL, newEvent("bare-1", typeFire, nil, []byte(`{}`), "application/json"))
	d := getOne(t, b.DeadLetterQueueName(), 10*time.Second)
	if got := len(alert.requests("")); got != 1 {
		t.Errorf("attempts = %d, want 1 (no delivery spec, no retries)", got)
	}
	if d.MessageId != "bare-1" || fmt.Sprint(d.Headers[ExtErrorCode]) != "502" || d.Headers[ExtErrorDest] != alert.srv.URL+"/" {
		t.Errorf("broker DLQ message: id %q headers %v", d.MessageId, d.Headers)
	}
	if d.Headers["type"] != typeFire || d.Headers["id"] != "bare-1" || d.Headers["specversion"] != "1.0" || d.DeliveryMode != 2 {
		t.Errorf("dead letter lost its attributes: %v mode %d", d.Headers, d.DeliveryMode)
	}
}

func TestReplyIsRoutedAgain(t *testing.T) {
	ts := loadCommitted(t)
	fastDelivery(ts, -1)
	routePerTrigger(ts)
	b := startBroker(t, ts)
	detect, alert := b.sinks["detect"], b.sinks["alert"]
	detect.setRespond(func(r received, n int) (int, http.Header, []byte) {
		h := http.Header{}
		h.Set("Ce-Specversion", "1.0")
		h.Set("Ce-Id", r.Event.ID()+".fire")
		h.Set("Ce-Type", typeFire)
		h.Set("Ce-Source", "/cameras/cam-1")
		h.Set("Ce-Subject", r.Event.ID())
		h.Set("Ce-Class", "fire")
		h.Set("Content-Type", "application/json")
		return http.StatusOK, h, []byte(`{"class":"fire"}`)
	})
	mustAccept(t, b.ingressURL, newEvent("m-9", typeMotion, nil, []byte{0xff, 0xd8}, "image/jpeg"))
	eventually(t, 10*time.Second, "the reply at alert", func() bool {
		return len(alert.requests("/t/detection-fire-alert")) == 1
	})
	r := alert.requests("/t/detection-fire-alert")[0]
	if r.Event == nil || r.Event.ID() != "m-9.fire" || r.Event.Subject() != "m-9" || string(r.Body) != `{"class":"fire"}` {
		t.Errorf("reply arrived as %+v body %q", r.Event, r.Body)
	}
	time.Sleep(settle)
	if n := len(alert.requests("")); n != 1 {
		t.Errorf("alert got %d requests, want 1: %v", n, paths(alert))
	}
}

func TestReplyTooLargeDeadLettersTheOriginal(t *testing.T) {
	ts := loadCommitted(t)
	fastDelivery(ts, 0)
	routePerTrigger(ts)
	b := startBroker(t, ts, func(c *Config) { c.MaxBodyBytes = 1024 })
	detect, alert := b.sinks["detect"], b.sinks["alert"]
	detect.setRespond(func(r received, n int) (int, http.Header, []byte) {
		h := http.Header{}
		h.Set("Ce-Specversion", "1.0")
		h.Set("Ce-Id", "big")
		h.Set("Ce-Type", typeFire)
		h.Set("Ce-Source", "/x")
		return http.StatusOK, h, bytes.Repeat([]byte("x"), 4096)
	})
	mustAccept(t, b.ingressURL, newEvent("m-10", typeMotion, nil, []byte{1}, "image/jpeg"))
	eventually(t, 10*time.Second, "the dead letter", func() bool {
		return len(alert.requests("/dls/motion-detect")) == 1
	})
	ev := alert.requests("/dls/motion-detect")[0].Event
	if ev == nil || ev.ID() != "m-10" || ev.Extensions()[ExtErrorData] == nil || ev.Extensions()[ExtErrorCode] != "200" {
		t.Errorf("dead letter = %+v", ev)
	}
}

func TestUnparsableMessageIsAckedAndCounted(t *testing.T) {
	ts := loadCommitted(t)
	routePerTrigger(ts)
	b := startBroker(t, ts)
	// A message that is not a CloudEvent but matches the fire Trigger's binding.
	msg := toPublishing(ptr(newEvent("x", typeFire, nil, nil, "")), "", "")
	delete(msg.Headers, "specversion")
	if err := b.pub.publish(t.Context(), b.ExchangeName(), msg); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "the unparsable count", func() bool {
		return testutil.ToFloat64(b.m.unparsable.WithLabelValues("detection-fire-alert")) == 1
	})
	eventually(t, 5*time.Second, "an empty queue", func() bool {
		return queueDepth(t, b.TriggerQueueName(byName(t, ts, "detection-fire-alert"))) == 0
	})
	if n := len(b.sinks["alert"].requests("")); n != 0 {
		t.Errorf("alert got %d requests", n)
	}
}

func byName(tb testing.TB, ts []triggers.Trigger, name string) triggers.Trigger {
	tb.Helper()
	for _, tr := range ts {
		if tr.Name == name {
			return tr
		}
	}
	tb.Fatalf("no trigger %s", name)
	return triggers.Trigger{}
}

func ptr[T any](v T) *T { return &v }

func TestParallelismDeliversConcurrently(t *testing.T) {
	ts := loadCommitted(t)
	routePerTrigger(ts)
	b := startBroker(t, ts)
	detect := b.sinks["detect"]
	release := make(chan struct{})
	inFlight := make(chan struct{}, 100)
	detect.setRespond(func(received, int) (int, http.Header, []byte) {
		inFlight <- struct{}{}
		<-release
		return http.StatusOK, nil, nil
	})
	defer close(release)
	for i := range 16 {
		mustAccept(t, b.ingressURL, newEvent("p-"+strconv.Itoa(i), typeMotion, nil, []byte{1}, "image/jpeg"))
	}
	// motion-detect has parallelism 16: all 16 are held by the subscriber at once.
	eventually(t, 10*time.Second, "16 concurrent deliveries", func() bool { return len(inFlight) == 16 })
}

func TestTimeoutCountsAsNetworkErrorAndIsRetried(t *testing.T) {
	retry, timeout, delay := 1, 100*time.Millisecond, time.Millisecond
	tr := triggers.Trigger{
		Name: "timed", Namespace: "edgewatch", Broker: "default", Parallelism: 1,
		Filter:     map[string]string{"type": typeFire},
		Subscriber: triggers.Destination{Ref: &triggers.Ref{APIVersion: triggers.ServiceAPIVersion, Kind: triggers.ServiceKind, Name: "alert"}},
		Delivery:   &triggers.Delivery{Retry: &retry, Timeout: &timeout, BackoffDelay: &delay},
	}
	b := startBroker(t, []triggers.Trigger{tr})
	alert := b.sinks["alert"]
	alert.setRespond(func(r received, n int) (int, http.Header, []byte) {
		if n == 1 {
			time.Sleep(400 * time.Millisecond) // past the Trigger's timeout
		}
		return http.StatusOK, nil, nil
	})
	mustAccept(t, b.ingressURL, newEvent("slow-1", typeFire, nil, []byte(`{}`), "application/json"))
	eventually(t, 10*time.Second, "the delivered outcome", func() bool {
		return testutil.ToFloat64(b.m.outcomes.WithLabelValues("timed", stageSubscriber, outcomeDelivered)) == 1
	})
	if v := testutil.ToFloat64(b.m.attempts.WithLabelValues("timed", stageSubscriber, "-1")); v != 1 {
		t.Errorf("timed-out attempts = %v, want 1", v)
	}
	if n := len(alert.requests("")); n != 2 {
		t.Errorf("requests = %d, want 2", n)
	}
}

func TestBrokerDeliveryAppliesToTriggersWithoutOne(t *testing.T) {
	retry, delay := 2, time.Millisecond
	ksvc := func(name string) *triggers.Ref {
		return &triggers.Ref{APIVersion: triggers.ServiceAPIVersion, Kind: triggers.ServiceKind, Name: name}
	}
	tr := triggers.Trigger{
		Name: "inherits", Namespace: "edgewatch", Broker: "default", Parallelism: 1,
		Filter:     map[string]string{"type": typeFire},
		Subscriber: triggers.Destination{Ref: ksvc("alert")},
	}
	dls := &triggers.Destination{Ref: ksvc("alert"), URI: "/broker-dls"}
	b := startBroker(t, []triggers.Trigger{tr}, func(c *Config) {
		c.Delivery = &triggers.Delivery{Retry: &retry, BackoffDelay: &delay, DeadLetterSink: dls}
	})
	alert := b.sinks["alert"]
	alert.setRespond(func(r received, n int) (int, http.Header, []byte) {
		if r.Path == "/broker-dls" {
			return http.StatusOK, nil, nil
		}
		return http.StatusInternalServerError, nil, nil
	})
	mustAccept(t, b.ingressURL, newEvent("inh-1", typeFire, nil, []byte(`{}`), "application/json"))
	eventually(t, 10*time.Second, "the broker's dead-letter sink", func() bool { return len(alert.requests("/broker-dls")) == 1 })
	if n := len(alert.requests("/")); n != retry+1 {
		t.Errorf("attempts = %d, want the broker's retry %d + 1", n, retry)
	}
	ev := alert.requests("/broker-dls")[0].Event
	if ev == nil || ev.ID() != "inh-1" || ev.Extensions()[ExtErrorCode] != "500" {
		t.Errorf("dead letter = %+v", ev)
	}
	eventually(t, 5*time.Second, "an empty broker dead-letter queue", func() bool { return queueDepth(t, b.DeadLetterQueueName()) == 0 })
}
