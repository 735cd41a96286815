// Package parity runs eventing-rabbitmq v0.48.0's own dispatcher beside
// edgewatch's broker on the local RabbitMQ and checks that both deliver,
// retry, dead-letter and forward replies identically. It is a module of its
// own so that its heavy dependencies (Knative eventing, client-go) never
// reach the root module; run it on purpose:
//
//	cd internal/broker/parity && GOWORK=off go test -count=1 .
package parity

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"
	"knative.dev/eventing-rabbitmq/pkg/dispatcher"
	"knative.dev/eventing-rabbitmq/pkg/rabbit"
	eventingduckv1 "knative.dev/eventing/pkg/apis/duck/v1"
	"knative.dev/pkg/logging"

	"github.com/edgewatch/edgewatch/internal/broker"
	"github.com/edgewatch/edgewatch/internal/triggers"
)

const eventType = "dev.edgewatch.parity"

func amqpURL() string {
	if u := os.Getenv("RABBITMQ_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

type request struct {
	header http.Header
	body   []byte
}

// recorder is an HTTP server that records requests by ce-id and answers by
// the id's prefix, the same way for both dispatchers.
type recorder struct {
	srv *httptest.Server
	mu  sync.Mutex
	got map[string][]request
}

func newRecorder(t *testing.T, answer func(id string, n int) (int, http.Header, []byte)) *recorder {
	r := &recorder{got: map[string][]request{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		id := req.Header.Get("Ce-Id")
		r.mu.Lock()
		r.got[id] = append(r.got[id], request{header: req.Header.Clone(), body: body})
		n := len(r.got[id])
		r.mu.Unlock()
		status, h, out := answer(id, n)
		for k, v := range h {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = w.Write(out)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *recorder) snapshot() map[string][]request {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]request{}
	for k, v := range r.got {
		out[k] = append([]request(nil), v...)
	}
	return out
}

// subscriber answers by event id: ok → 200, retry → 503 twice then 200,
// fail → 500, missing → 404, bad → 400, reply → 200 with a reply event.
func subscriber(id string, n int) (int, http.Header, []byte) {
	switch {
	case strings.HasPrefix(id, "retry") && n <= 2:
		return http.StatusServiceUnavailable, nil, nil
	case strings.HasPrefix(id, "fail"):
		return http.StatusInternalServerError, nil, nil
	case strings.HasPrefix(id, "missing"):
		return http.StatusNotFound, nil, nil
	case strings.HasPrefix(id, "bad"):
		return http.StatusBadRequest, nil, nil
	case strings.HasPrefix(id, "reply"):
		h := http.Header{}
		h.Set("Ce-Specversion", "1.0")
		h.Set("Ce-Id", id+".answer")
		h.Set("Ce-Type", "dev.edgewatch.parity.answer")
		h.Set("Ce-Source", "/parity")
		h.Set("Ce-Class", "fire")
		h.Set("Content-Type", "application/json")
		return http.StatusOK, h, []byte(`{"answer":42}`)
	}
	return http.StatusOK, nil, nil
}

func accept(string, int) (int, http.Header, []byte) { return http.StatusAccepted, nil, nil }

func uid(t *testing.T) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "parity-" + hex.EncodeToString(b[:])
}

func TestDispatcherParityWithEventingRabbitMQ(t *testing.T) {
	const retries = 2
	delay := 5 * time.Millisecond
	id := uid(t)

	ours := newRecorder(t, subscriber)
	theirs := newRecorder(t, subscriber)
	ourReplies := newRecorder(t, accept)
	theirReplies := newRecorder(t, accept)

	// edgewatch: the broker with one Trigger; dead letters go to the broker DLQ.
	retry := retries
	tr := triggers.Trigger{
		Name: "parity", Namespace: "edgewatch", Broker: "default", Parallelism: 1,
		Filter:     map[string]string{"type": eventType},
		Subscriber: triggers.Destination{URI: ours.srv.URL + "/"},
		Delivery:   &triggers.Delivery{Retry: &retry, BackoffDelay: &delay, BackoffPolicy: triggers.BackoffExponential},
	}
	b, err := broker.New(broker.Config{
		AMQPURL: amqpURL(), Namespace: "edgewatch", Name: "default", UID: id,
		IngressURL: ourReplies.srv.URL + "/", Triggers: []triggers.Trigger{tr},
		Resolver: triggers.NewStaticResolver(nil), RequeueDelay: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ingress := httptest.NewServer(b.Ingress())
	t.Cleanup(ingress.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		if err := b.Teardown(context.Background()); err != nil {
			t.Error(err)
		}
	})
	select {
	case <-b.Ready():
	case <-time.After(30 * time.Second):
		t.Fatal("broker not ready")
	}

	// eventing-rabbitmq: its dispatcher on a second queue bound to the same
	// exchange with the same filter, dead-lettering to its own DLX and DLQ.
	conn, err := amqp.Dial(amqpURL())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	admin, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	queue, dlx, dlq := "upstream."+id, "upstream.dlx."+id, "upstream.dlq."+id
	quorum := amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum}
	must(t, admin.ExchangeDeclare(dlx, amqp.ExchangeHeaders, true, false, false, false, nil))
	_, err = admin.QueueDeclare(queue, true, false, false, false, quorum)
	must(t, err)
	_, err = admin.QueueDeclare(dlq, true, false, false, false, quorum)
	must(t, err)
	must(t, admin.QueueBind(queue, "", b.ExchangeName(), false, amqp.Table{"x-match": "all", "type": eventType, "x-knative-trigger": "upstream"}))
	must(t, admin.QueueBind(dlq, "", dlx, false, amqp.Table{"x-match": "all"}))
	t.Cleanup(func() {
		ch, err := conn.Channel()
		if err != nil {
			return
		}
		_, _ = ch.QueueDelete(queue, false, false, false)
		_, _ = ch.QueueDelete(dlq, false, false, false)
		_ = ch.ExchangeDelete(dlx, false, false)
	})
	consumer, err := conn.Channel()
	must(t, err)
	must(t, consumer.Qos(100, 0, false))
	must(t, consumer.Confirm(false))
	hist, err := metricnoop.NewMeterProvider().Meter("parity").Float64Histogram("dispatch")
	must(t, err)
	d := &dispatcher.Dispatcher{
		BrokerIngressURL: theirReplies.srv.URL + "/",
		SubscriberURL:    theirs.srv.URL + "/",
		MaxRetries:       retries,
		BackoffDelay:     delay,
		BackoffPolicy:    eventingduckv1.BackoffPolicyExponential,
		WorkerCount:      1,
		DLXName:          dlx,
		DispatchDuration: hist,
		Tracer:           tracenoop.NewTracerProvider().Tracer("parity"),
	}
	uctx, ucancel := context.WithCancel(logging.WithLogger(context.Background(), zap.NewNop().Sugar()))
	udone := make(chan struct{})
	go func() { defer close(udone); _ = d.ConsumeFromQueue(uctx, rabbit.NewConnection(conn), consumer, queue) }()
	t.Cleanup(func() { ucancel(); <-udone })

	// The same events, through edgewatch's ingress, reach both queues.
	send := func(header map[string]string, body []byte) {
		req, _ := http.NewRequest(http.MethodPost, ingress.URL+"/", bytes.NewReader(body))
		for k, v := range header {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("ingress %d for %v", resp.StatusCode, header)
		}
	}
	binary := func(id string, extra map[string]string, body []byte) {
		h := map[string]string{"Ce-Specversion": "1.0", "Ce-Id": id, "Ce-Type": eventType, "Ce-Source": "/cameras/cam-1",
			"Ce-Time": "2020-01-02T03:04:05Z", "Ce-Camera": "cam-1", "Content-Type": "application/json"}
		for k, v := range extra {
			if v == "" {
				delete(h, k)
			} else {
				h[k] = v
			}
		}
		send(h, body)
	}
	binary("ok-1", map[string]string{"Ce-Subject": "s", "Ce-Class": "fire"}, []byte(`{"a":1}`))
	send(map[string]string{"Content-Type": "application/cloudevents+json"},
		[]byte(`{"specversion":"1.0","id":"ok-2","type":"`+eventType+`","source":"/s","dataschema":"https://example.test/schema","camera":"c","datacontenttype":"application/json","data":{"b":[1,2]}}`))
	binary("ok-3", map[string]string{"Ce-Time": "", "Content-Type": "image/jpeg"}, []byte{0xff, 0xd8, 0x00})
	binary("retry-1", nil, []byte(`{}`))
	binary("fail-1", nil, []byte(`{"f":1}`))
	binary("missing-1", nil, []byte(`{}`))
	binary("bad-1", nil, []byte(`{}`))
	binary("reply-1", nil, []byte(`{}`))

	wantCounts := map[string]int{"ok-1": 1, "ok-2": 1, "ok-3": 1, "retry-1": 3, "fail-1": retries + 1, "missing-1": retries + 1, "bad-1": 1, "reply-1": 1}
	deadline := time.Now().Add(30 * time.Second)
	for {
		o, u := ours.snapshot(), theirs.snapshot()
		if countsReached(o, wantCounts) && countsReached(u, wantCounts) &&
			len(ourReplies.snapshot()) == 1 && len(theirReplies.snapshot()) == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out: ours %v, upstream %v", counts(o), counts(u))
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // no extra attempts may follow

	o, u := ours.snapshot(), theirs.snapshot()
	for id, want := range wantCounts {
		if len(o[id]) != want || len(u[id]) != want {
			t.Errorf("%s: attempts edgewatch %d, upstream %d, want %d", id, len(o[id]), len(u[id]), want)
		}
		if len(o[id]) > 0 && len(u[id]) > 0 {
			compareRequests(t, id, o[id][0], u[id][0])
		}
	}
	or, ur := ourReplies.snapshot(), theirReplies.snapshot()
	if len(or["reply-1.answer"]) != 1 || len(ur["reply-1.answer"]) != 1 {
		t.Fatalf("replies: edgewatch %v, upstream %v", counts(or), counts(ur))
	}
	compareRequests(t, "reply", or["reply-1.answer"][0], ur["reply-1.answer"][0])

	// Dead letters: the same events with the same headers, each naming its
	// own subscriber.
	ourDead := drain(t, conn, b.DeadLetterQueueName(), 2)
	theirDead := drain(t, conn, dlq, 2)
	for _, id := range []string{"fail-1", "missing-1"} {
		od, ud := ourDead[id], theirDead[id]
		if od == nil || ud == nil {
			t.Errorf("%s: dead letter edgewatch %v, upstream %v", id, od != nil, ud != nil)
			continue
		}
		if od.Headers["knativeerrordest"] != ours.srv.URL+"/" || ud.Headers["knativeerrordest"] != theirs.srv.URL+"/" {
			t.Errorf("%s: knativeerrordest %v / %v", id, od.Headers["knativeerrordest"], ud.Headers["knativeerrordest"])
		}
		delete(od.Headers, "knativeerrordest")
		delete(ud.Headers, "knativeerrordest")
		if !equalTables(od.Headers, ud.Headers) {
			t.Errorf("%s: dead-letter headers differ:\nedgewatch %v\nupstream  %v", id, od.Headers, ud.Headers)
		}
		if !bytes.Equal(od.Body, ud.Body) || od.ContentType != ud.ContentType || od.MessageId != ud.MessageId || od.DeliveryMode != ud.DeliveryMode {
			t.Errorf("%s: dead-letter message differs: %q/%q %q/%q %q/%q %d/%d", id, od.Body, ud.Body, od.ContentType, ud.ContentType, od.MessageId, ud.MessageId, od.DeliveryMode, ud.DeliveryMode)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func counts(m map[string][]request) map[string]int {
	out := map[string]int{}
	for k, v := range m {
		out[k] = len(v)
	}
	return out
}

func countsReached(m map[string][]request, want map[string]int) bool {
	for id, n := range want {
		if len(m[id]) < n {
			return false
		}
	}
	return true
}

// compareRequests checks that two deliveries carry the same CloudEvent
// headers and body.
func compareRequests(t *testing.T, id string, ours, theirs request) {
	t.Helper()
	pick := func(h http.Header) []string {
		var out []string
		if generatedTime(ours.header) && generatedTime(theirs.header) {
			h = h.Clone()
			h.Set("Ce-Time", "<set at dispatch>")
		}
		for k, v := range h {
			if strings.HasPrefix(k, "Ce-") || k == "Content-Type" {
				out = append(out, k+": "+strings.Join(v, ","))
			}
		}
		sort.Strings(out)
		return out
	}
	o, u := pick(ours.header), pick(theirs.header)
	if strings.Join(o, "\n") != strings.Join(u, "\n") {
		t.Errorf("%s: headers differ:\nedgewatch %q\nupstream  %q", id, o, u)
	}
	if !bytes.Equal(ours.body, theirs.body) {
		t.Errorf("%s: body edgewatch %q, upstream %q", id, ours.body, theirs.body)
	}
}

// generatedTime reports whether a delivery's time was set by the dispatcher
// (the event had none): it lies within the last minute.
func generatedTime(h http.Header) bool {
	tm, err := time.Parse(time.RFC3339Nano, h.Get("Ce-Time"))
	return err == nil && time.Since(tm) < time.Minute
}

func drain(t *testing.T, conn *amqp.Connection, queue string, n int) map[string]*amqp.Delivery {
	t.Helper()
	ch, err := conn.Channel()
	must(t, err)
	defer ch.Close()
	out := map[string]*amqp.Delivery{}
	deadline := time.Now().Add(10 * time.Second)
	for len(out) < n && time.Now().Before(deadline) {
		d, ok, err := ch.Get(queue, true)
		must(t, err)
		if !ok {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		out[d.MessageId] = &d
	}
	return out
}

func equalTables(a, b amqp.Table) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
