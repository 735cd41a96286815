package broker

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	amqp "github.com/rabbitmq/amqp091-go"
)

// tapExchange binds a private queue that matches every message to the
// broker's exchange and returns its deliveries.
func tapExchange(tb testing.TB, exchange string) <-chan amqp.Delivery {
	tb.Helper()
	conn, err := amqp.Dial(amqpURL())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	if err != nil {
		tb.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil {
		tb.Fatal(err)
	}
	if err := ch.QueueBind(q.Name, "", exchange, false, amqp.Table{"x-match": "all"}); err != nil {
		tb.Fatal(err)
	}
	d, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func next(tb testing.TB, d <-chan amqp.Delivery) amqp.Delivery {
	tb.Helper()
	select {
	case m := <-d:
		return m
	case <-time.After(10 * time.Second):
		tb.Fatal("no message published")
		return amqp.Delivery{}
	}
}

func post(tb testing.TB, method, url string, header map[string]string, body []byte) (int, string) {
	tb.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func TestIngressPublishesUpstreamMessageFormat(t *testing.T) {
	b := startBroker(t, nil)
	tap := tapExchange(t, b.ExchangeName())

	t.Run("binary", func(t *testing.T) {
		code, body := post(t, http.MethodPost, b.ingressURL, map[string]string{
			"Ce-Specversion": "1.0", "Ce-Id": "bin-1", "Ce-Type": typeMotion, "Ce-Source": "/cameras/cam-1",
			"Ce-Time": "2026-11-29T10:00:00.5+01:00", "Ce-Subject": "s", "Ce-Dataschema": "https://example.test/s",
			"Ce-Camera": "cam-1", "Ce-Regionx": "12", "Content-Type": "image/jpeg",
			"Traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "Tracestate": "k=v",
		}, []byte{0xff, 0xd8, 0xff})
		if code != http.StatusAccepted {
			t.Fatalf("status %d %s", code, body)
		}
		m := next(t, tap)
		want := amqp.Table{
			"specversion": "1.0", "id": "bin-1", "type": typeMotion, "source": "/cameras/cam-1",
			"time": "2026-11-29T09:00:00.5Z", "subject": "s", "dataschema": "https://example.test/s",
			"content-type": "image/jpeg", "camera": "cam-1", "regionx": "12",
			"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "k=v",
		}
		assertHeaders(t, m.Headers, want)
		if m.MessageId != "bin-1" || m.ContentType != "image/jpeg" || m.DeliveryMode != amqp.Persistent || !bytes.Equal(m.Body, []byte{0xff, 0xd8, 0xff}) {
			t.Errorf("message id %q content type %q mode %d body %x", m.MessageId, m.ContentType, m.DeliveryMode, m.Body)
		}
	})

	t.Run("structured", func(t *testing.T) {
		code, body := post(t, http.MethodPost, b.ingressURL, map[string]string{"Content-Type": "application/cloudevents+json"},
			[]byte(`{"specversion":"1.0","id":"st-1","type":"`+typeFire+`","source":"/cameras/c","class":"fire","datacontenttype":"application/json","data":{"a":1}}`))
		if code != http.StatusAccepted {
			t.Fatalf("status %d %s", code, body)
		}
		m := next(t, tap)
		assertHeaders(t, m.Headers, amqp.Table{
			"specversion": "1.0", "id": "st-1", "type": typeFire, "source": "/cameras/c", "class": "fire",
			"content-type": "application/json", "time": "0001-01-01T00:00:00Z",
		})
		if string(m.Body) != `{"a":1}` || m.ContentType != "application/json" {
			t.Errorf("body %q content type %q", m.Body, m.ContentType)
		}
	})
	if v := testutil.ToFloat64(b.m.ingressAccepted); v != 2 {
		t.Errorf("accepted metric = %v, want 2", v)
	}
}

func assertHeaders(t *testing.T, got, want amqp.Table) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("headers %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("header %s = %#v, want %#v", k, got[k], v)
		}
	}
}

func TestIngressRefusals(t *testing.T) {
	b := startBroker(t, nil, func(c *Config) { c.MaxBodyBytes = 1024 })
	valid := map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "1", "Ce-Type": "t", "Ce-Source": "/s"}
	cases := []struct {
		name, method, path string
		header             map[string]string
		body               []byte
		code               int
		reason, metric     string
	}{
		{"GET", http.MethodGet, "/", valid, nil, 405, "only POST", "method"},
		{"PUT", http.MethodPut, "/", valid, nil, 405, "only POST", "method"},
		{"other path", http.MethodPost, "/other", valid, nil, 404, "on / only", "path"},
		{"query", http.MethodPost, "/?x=1", valid, nil, 404, "on / only", "path"},
		{"no CloudEvent", http.MethodPost, "/", map[string]string{"Content-Type": "application/json"}, []byte(`{}`), 400, "not a CloudEvent", "invalid_event"},
		{"missing id", http.MethodPost, "/", map[string]string{"Ce-Specversion": "1.0", "Ce-Type": "t", "Ce-Source": "/s"}, nil, 400, "id", "invalid_event"},
		{"bad specversion", http.MethodPost, "/", map[string]string{"Ce-Specversion": "9.9", "Ce-Id": "1", "Ce-Type": "t", "Ce-Source": "/s"}, nil, 400, "not a CloudEvent", "invalid_event"},
		{"malformed structured", http.MethodPost, "/", map[string]string{"Content-Type": "application/cloudevents+json"}, []byte(`{"specversion":`), 400, "not a valid CloudEvent", "invalid_event"},
		{"bad time", http.MethodPost, "/", map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "1", "Ce-Type": "t", "Ce-Source": "/s", "Ce-Time": "yesterday"}, nil, 400, "time", "invalid_event"},
		{"huge extension", http.MethodPost, "/", map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "1", "Ce-Type": "t", "Ce-Source": "/s", "Ce-Big": strings.Repeat("x", 70000)}, nil, 400, "RabbitMQ message header", "invalid_event"},
		{"oversize", http.MethodPost, "/", valid, bytes.Repeat([]byte("x"), 2048), 413, "exceeds the limit", "too_large"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := testutil.ToFloat64(b.m.ingressRejected.WithLabelValues(c.metric))
			code, body := post(t, c.method, strings.TrimSuffix(b.ingressURL, "/")+c.path, c.header, c.body)
			if code != c.code || !strings.Contains(body, c.reason) {
				t.Errorf("got %d %q, want %d containing %q", code, body, c.code, c.reason)
			}
			if after := testutil.ToFloat64(b.m.ingressRejected.WithLabelValues(c.metric)); after != before+1 {
				t.Errorf("rejected{reason=%s} went from %v to %v", c.metric, before, after)
			}
		})
	}

	t.Run("oversize without content length", func(t *testing.T) {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodPost, "/", io.LimitReader(zeros{}, 4096))
		req.ContentLength = -1
		for k, v := range valid {
			req.Header.Set(k, v)
		}
		b.Ingress().ServeHTTP(rec, req)
		if rec.Code != http.StatusRequestEntityTooLarge {
			t.Errorf("got %d %s", rec.Code, rec.Body)
		}
	})
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestIngressAnswers503WithoutRabbitMQ(t *testing.T) {
	// A broker that was never Run has no channel: the ingress must answer
	// at once with a retryable status rather than hang.
	b, err := New(Config{AMQPURL: amqpURL(), Namespace: "edgewatch", Name: "default", UID: randomUID(t), IngressURL: "http://127.0.0.1:1/"})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodPost, "/", nil)
	for k, v := range map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "1", "Ce-Type": "t", "Ce-Source": "/s"} {
		req.Header.Set(k, v)
	}
	start := time.Now()
	b.Ingress().ServeHTTP(rec, req)
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Errorf("got %d (Retry-After %q), want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	ts := loadCommitted(t)
	cases := map[string]Config{
		"missing fields": {},
		"no resolver":    {AMQPURL: "amqp://x", Namespace: "edgewatch", Name: "default", UID: "u", IngressURL: "http://127.0.0.1/", Triggers: ts},
		"other broker":   {AMQPURL: "amqp://x", Namespace: "edgewatch", Name: "other", UID: "u", IngressURL: "http://127.0.0.1/", Triggers: ts, Resolver: nil},
		"unresolvable":   {AMQPURL: "amqp://x", Namespace: "edgewatch", Name: "default", UID: "u", IngressURL: "http://127.0.0.1/", Triggers: ts, Resolver: emptyResolver()},
		"queue type":     {AMQPURL: "amqp://x", Namespace: "edgewatch", Name: "default", UID: "u", IngressURL: "http://127.0.0.1/", QueueType: "stream"},
		"relative URL":   {AMQPURL: "amqp://x", Namespace: "edgewatch", Name: "default", UID: "u", IngressURL: "/"},
	}
	for name, cfg := range cases {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}
