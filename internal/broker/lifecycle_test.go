package broker

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgewatch/edgewatch/internal/triggers"
)

// closeBrokerConnections force-closes this broker's AMQP connections on the
// server side, as a RabbitMQ restart would, without touching anyone else's.
func closeBrokerConnections(t *testing.T, uid string) int {
	t.Helper()
	out, err := exec.Command("rabbitmqctl", "-q", "list_connections", "--no-table-headers", "pid", "client_properties").Output()
	if err != nil {
		t.Skipf("rabbitmqctl unavailable: %v", err)
	}
	closed := 0
	for _, line := range strings.Split(string(out), "\n") {
		if !strings.Contains(line, uid) {
			continue
		}
		pid := strings.Fields(line)[0]
		if err := exec.Command("rabbitmqctl", "-q", "close_connection", pid, "test: simulated broker restart").Run(); err != nil {
			t.Fatalf("close_connection %s: %v", pid, err)
		}
		closed++
	}
	return closed
}

func TestReconnectsAfterConnectionLoss(t *testing.T) {
	if _, err := exec.LookPath("rabbitmqctl"); err != nil {
		t.Skip("rabbitmqctl not installed")
	}
	ts := loadCommitted(t)
	fastDelivery(ts, -1)
	routePerTrigger(ts)
	b := startBroker(t, ts)
	alert := b.sinks["alert"]
	mustAccept(t, b.ingressURL, newEvent("before.fire", typeFire, nil, []byte(`{}`), "application/json"))
	eventually(t, 10*time.Second, "the first event", func() bool { return len(alert.requests("/t/detection-fire-alert")) == 1 })

	if n := closeBrokerConnections(t, b.cfg.UID); n != 1 {
		t.Fatalf("closed %d connections, want 1", n)
	}
	// While reconnecting the ingress answers 503 at once or accepts; once
	// back, events flow again through resubscribed dispatchers.
	eventually(t, 20*time.Second, "the ingress accepting again", func() bool {
		code, _ := postBinary(t, b.ingressURL, newEvent("after.fire", typeFire, nil, []byte(`{}`), "application/json"))
		if code != http.StatusAccepted && code != http.StatusServiceUnavailable {
			t.Fatalf("status %d during reconnection", code)
		}
		return code == http.StatusAccepted
	})
	eventually(t, 20*time.Second, "delivery after reconnecting", func() bool {
		for _, r := range alert.requests("/t/detection-fire-alert") {
			if r.Event != nil && r.Event.ID() == "after.fire" {
				return true
			}
		}
		return false
	})
	if v := testutil.ToFloat64(b.m.reconnects); v < 1 {
		t.Errorf("reconnects metric = %v, want ≥ 1", v)
	}
}

func TestStopFinishesInFlightDeliveries(t *testing.T) {
	tr := triggers.Trigger{
		Name: "slow", Namespace: "edgewatch", Broker: "default", Parallelism: 4,
		Filter:     map[string]string{"type": typeFire},
		Subscriber: triggers.Destination{Ref: &triggers.Ref{APIVersion: triggers.ServiceAPIVersion, Kind: triggers.ServiceKind, Name: "alert"}},
	}
	s := newSink(t)
	var started, finished atomic.Int32
	s.setRespond(func(received, int) (int, http.Header, []byte) {
		started.Add(1)
		time.Sleep(300 * time.Millisecond)
		finished.Add(1)
		return http.StatusOK, nil, nil
	})
	uid := randomUID(t)
	b, err := New(Config{
		AMQPURL: amqpURL(), Namespace: "edgewatch", Name: "default", UID: uid, IngressURL: "http://127.0.0.1:1/",
		Triggers: []triggers.Trigger{tr}, Resolver: triggers.NewStaticResolver(map[string]string{"alert": s.srv.URL}),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Teardown(context.Background()) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	<-b.Ready()
	for i := range 4 {
		ev := newEvent("stop-"+string(rune('a'+i)), typeFire, nil, []byte(`{}`), "application/json")
		if err := b.pub.publish(t.Context(), b.ExchangeName(), toPublishing(&ev, "", "")); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, 10*time.Second, "four deliveries in flight", func() bool { return started.Load() == 4 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if f := finished.Load(); f != 4 {
		t.Errorf("Run returned with %d of 4 deliveries finished", f)
	}
	if n := queueDepth(t, b.TriggerQueueName(tr)); n != 0 {
		t.Errorf("%d messages left in the queue: in-flight deliveries were not acked", n)
	}
}

func TestClosedIngressRefusesNewEventsButTakesRepliesInFlight(t *testing.T) {
	ts := loadCommitted(t)
	fastDelivery(ts, -1)
	routePerTrigger(ts)
	b := startBroker(t, ts)
	detect, alert := b.sinks["detect"], b.sinks["alert"]
	inFlight, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	detect.setRespond(func(r received, n int) (int, http.Header, []byte) {
		once.Do(func() { close(inFlight) })
		<-release
		h := http.Header{}
		h.Set("Ce-Specversion", "1.0")
		h.Set("Ce-Id", r.Event.ID()+".fire")
		h.Set("Ce-Type", typeFire)
		h.Set("Ce-Source", "/cameras/cam-1")
		h.Set("Ce-Class", "fire")
		h.Set("Content-Type", "application/json")
		return http.StatusOK, h, []byte(`{"class":"fire"}`)
	})
	mustAccept(t, b.ingressURL, newEvent("m-1", typeMotion, nil, []byte{0xff, 0xd8}, "image/jpeg"))
	select {
	case <-inFlight:
	case <-time.After(10 * time.Second):
		t.Fatal("the motion event never reached detect")
	}

	b.CloseIngress()
	code, body := postBinary(t, b.ingressURL, newEvent("late.fire", typeFire, nil, []byte(`{}`), "application/json"))
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "stopping") {
		t.Fatalf("new event after CloseIngress: %d %q, want 503 saying the broker is stopping", code, body)
	}
	if v := testutil.ToFloat64(b.m.ingressRejected.WithLabelValues("stopping")); v != 1 {
		t.Errorf("rejected{reason=stopping} = %v, want 1", v)
	}
	// The pipeline's own functions still send what their work in flight produces.
	internal := httptest.NewServer(b.InternalIngress())
	defer internal.Close()
	if code, body := postBinary(t, internal.URL+"/", newEvent("own.fire", typeFire, nil, []byte(`{}`), "application/json")); code != http.StatusAccepted {
		t.Fatalf("event on the internal ingress after CloseIngress: %d %q, want 202", code, body)
	}

	close(release)
	eventually(t, 10*time.Second, "the reply of the delivery in flight and the internal event at alert", func() bool {
		seen := 0
		for _, r := range alert.requests("/t/detection-fire-alert") {
			if r.Event != nil && (r.Event.ID() == "m-1.fire" || r.Event.ID() == "own.fire") {
				seen++
			}
		}
		return seen == 2
	})
	for _, r := range alert.requests("") {
		if r.Event != nil && r.Event.ID() == "late.fire" {
			t.Fatal("the refused event was delivered")
		}
	}
}
