package broker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edgewatch/edgewatch/internal/triggers"
)

const committedTriggers = "../../config/triggers"

func amqpURL() string {
	if u := os.Getenv("RABBITMQ_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

func randomUID(tb testing.TB) string {
	tb.Helper()
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		tb.Fatal(err)
	}
	return "test-" + hex.EncodeToString(b[:])
}

// received is one HTTP request a sink got.
type received struct {
	Path   string
	Header http.Header
	Body   []byte
	Event  *event.Event // nil when the request was not a CloudEvent
}

// sink is a real HTTP server on 127.0.0.1:0 that records what it receives
// and answers with whatever respond decides.
type sink struct {
	srv *httptest.Server

	mu      sync.Mutex
	got     []received
	respond func(r received, n int) (int, http.Header, []byte) // n counts requests for this path+id, from 1
	counts  map[string]int
}

func newSink(tb testing.TB) *sink {
	tb.Helper()
	s := &sink{counts: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.srv.Close)
	return s
}

func (s *sink) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec := received{Path: r.URL.Path, Header: r.Header.Clone(), Body: body}
	if ev, err := DecodeEvent(r.Context(), r.Header, body); err == nil {
		rec.Event = ev
	}
	s.mu.Lock()
	s.got = append(s.got, rec)
	key := rec.Path
	if rec.Event != nil {
		key += "#" + rec.Event.ID()
	}
	s.counts[key]++
	n := s.counts[key]
	respond := s.respond
	s.mu.Unlock()
	status, header, out := http.StatusAccepted, http.Header(nil), []byte(nil)
	if respond != nil {
		status, header, out = respond(rec, n)
	}
	for k, v := range header {
		w.Header()[k] = v
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func (s *sink) setRespond(f func(r received, n int) (int, http.Header, []byte)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.respond = f
}

// requests returns what the sink received, optionally only on one path.
func (s *sink) requests(path string) []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []received
	for _, r := range s.got {
		if path == "" || r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// testBroker is a broker on the local RabbitMQ with its own UID, its ingress
// on 127.0.0.1:0 and one sink per Knative Service the Triggers name.
type testBroker struct {
	*Broker
	ingressURL string
	sinks      map[string]*sink // by Service name
	registry   *prometheus.Registry
}

type brokerOption func(*Config)

// fastDelivery shortens a loaded Trigger's backoff so retries take
// milliseconds, and optionally changes its retry count.
func fastDelivery(ts []triggers.Trigger, retry int) {
	delay := time.Millisecond
	for i := range ts {
		if ts[i].Delivery == nil {
			continue
		}
		d := *ts[i].Delivery
		d.BackoffDelay = &delay
		if retry >= 0 {
			r := retry
			d.Retry = &r
		}
		ts[i].Delivery = &d
	}
}

// routePerTrigger makes each Trigger's subscriber path /t/<trigger> and its
// dead-letter sink path /dls/<trigger> (relative URIs joined onto the ksvc
// address), so a sink can tell which Trigger delivered.
func routePerTrigger(ts []triggers.Trigger) {
	for i := range ts {
		ts[i].Subscriber.URI = "/t/" + ts[i].Name
		if ts[i].Delivery != nil && ts[i].Delivery.DeadLetterSink != nil {
			d := *ts[i].Delivery
			dls := *d.DeadLetterSink
			dls.URI = "/dls/" + ts[i].Name
			d.DeadLetterSink = &dls
			ts[i].Delivery = &d
		}
	}
}

func loadCommitted(tb testing.TB) []triggers.Trigger {
	tb.Helper()
	ts, err := triggers.LoadDir(committedTriggers)
	if err != nil {
		tb.Fatal(err)
	}
	return ts
}

func startBroker(tb testing.TB, ts []triggers.Trigger, opts ...brokerOption) *testBroker {
	tb.Helper()
	tb2 := &testBroker{sinks: map[string]*sink{}, registry: prometheus.NewRegistry()}
	services := map[string]string{}
	for _, t := range ts {
		for _, d := range []*triggers.Destination{&t.Subscriber, t.DeadLetterSink()} {
			if d == nil || d.Ref == nil {
				continue
			}
			if _, ok := tb2.sinks[d.Ref.Name]; !ok {
				s := newSink(tb)
				tb2.sinks[d.Ref.Name] = s
				services[d.Ref.Name] = s.srv.URL + "/"
			}
		}
	}
	var handler http.Handler
	ingressSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	tb.Cleanup(ingressSrv.Close)
	tb2.ingressURL = ingressSrv.URL + "/"
	ns, name := "edgewatch", "default"
	if len(ts) > 0 {
		ns, name = ts[0].Namespace, ts[0].Broker
	}
	cfg := Config{
		AMQPURL:      amqpURL(),
		Namespace:    ns,
		Name:         name,
		UID:          randomUID(tb),
		IngressURL:   tb2.ingressURL,
		Triggers:     ts,
		Resolver:     triggers.NewStaticResolver(services),
		RequeueDelay: 50 * time.Millisecond,
		StopTimeout:  5 * time.Second,
		Logger:       slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn})),
		Registerer:   tb2.registry,
	}
	for _, o := range opts {
		o(&cfg)
	}
	b, err := New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb2.Broker = b
	handler = b.Ingress()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				tb.Errorf("Run: %v", err)
			}
		case <-time.After(20 * time.Second):
			tb.Errorf("Run did not return after cancel")
		}
		if err := b.Teardown(context.Background()); err != nil {
			tb.Errorf("teardown: %v", err)
		}
	})
	select {
	case <-b.Ready():
	case err := <-done:
		tb.Fatalf("Run returned before ready: %v", err)
	case <-time.After(30 * time.Second):
		tb.Fatal("broker not ready after 30 s")
	}
	return tb2
}

// testWriter sends logs to the test log, and nowhere once the test is over.
type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	defer func() { _ = recover() }() // a log line after the test ended
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// newEvent returns a valid event of the given type.
func newEvent(id, typ string, ext map[string]string, data []byte, contentType string) event.Event {
	ev := event.New()
	ev.SetID(id)
	ev.SetType(typ)
	ev.SetSource("/cameras/cam-1")
	ev.SetTime(time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC))
	ev.SetExtension("camera", "cam-1")
	for k, v := range ext {
		ev.SetExtension(k, v)
	}
	if data != nil {
		_ = ev.SetData(contentType, data)
	}
	return ev
}

// postBinary POSTs ev in binary mode and returns the status and body.
func postBinary(tb testing.TB, url string, ev event.Event) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(ev.Data()))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("ce-specversion", ev.SpecVersion())
	req.Header.Set("ce-id", ev.ID())
	req.Header.Set("ce-type", ev.Type())
	req.Header.Set("ce-source", ev.Source())
	if !ev.Time().IsZero() {
		req.Header.Set("ce-time", ev.Time().UTC().Format(time.RFC3339Nano))
	}
	if ev.Subject() != "" {
		req.Header.Set("ce-subject", ev.Subject())
	}
	if ev.DataContentType() != "" {
		req.Header.Set("Content-Type", ev.DataContentType())
	}
	for k, v := range ev.Extensions() {
		req.Header.Set("ce-"+k, v.(string))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func mustAccept(tb testing.TB, url string, ev event.Event) {
	tb.Helper()
	if code, body := postBinary(tb, url, ev); code != http.StatusAccepted {
		tb.Fatalf("POST %s: %d %s", ev.ID(), code, body)
	}
}

// eventually polls cond until it holds or the timeout passes.
func eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// queueDepth returns the number of ready messages in a queue.
func queueDepth(tb testing.TB, queue string) int {
	tb.Helper()
	conn, err := amqp.Dial(amqpURL())
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		tb.Fatal(err)
	}
	defer ch.Close()
	q, err := ch.QueueDeclarePassive(queue, true, false, false, false, amqp.Table{amqp.QueueTypeArg: amqp.QueueTypeQuorum})
	if err != nil {
		tb.Fatal(err)
	}
	return q.Messages
}

// getOne takes one message off a queue (acking it), failing after timeout.
func getOne(tb testing.TB, queue string, timeout time.Duration) amqp.Delivery {
	tb.Helper()
	conn, err := amqp.Dial(amqpURL())
	if err != nil {
		tb.Fatal(err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		tb.Fatal(err)
	}
	defer ch.Close()
	deadline := time.Now().Add(timeout)
	for {
		d, ok, err := ch.Get(queue, true)
		if err != nil {
			tb.Fatal(err)
		}
		if ok {
			return d
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no message on %s after %v", queue, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
