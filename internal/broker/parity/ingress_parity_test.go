package parity

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"
	"knative.dev/eventing-rabbitmq/pkg/rabbit"

	"github.com/edgewatch/edgewatch/internal/broker"
)

// TestIngressMessageParityWithEventingRabbitMQ checks that edgewatch's
// ingress publishes exactly the message eventing-rabbitmq's
// rabbit.CloudEventToRabbitMQMessage builds for the same event.
func TestIngressMessageParityWithEventingRabbitMQ(t *testing.T) {
	b, err := broker.New(broker.Config{AMQPURL: amqpURL(), Namespace: "edgewatch", Name: "default", UID: uid(t), IngressURL: "http://127.0.0.1:1/"})
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done; _ = b.Teardown(context.Background()) })
	<-b.Ready()
	ingress := httptest.NewServer(b.Ingress())
	t.Cleanup(ingress.Close)

	conn, err := amqp.Dial(amqpURL())
	must(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	ch, err := conn.Channel()
	must(t, err)
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	must(t, err)
	must(t, ch.QueueBind(q.Name, "", b.ExchangeName(), false, amqp.Table{"x-match": "all"}))
	deliveries, err := ch.Consume(q.Name, "", true, true, false, false, nil)
	must(t, err)

	cases := []struct {
		name   string
		header map[string]string
		body   []byte
	}{
		{"binary with extensions", map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "1", "Ce-Type": "t", "Ce-Source": "/s",
			"Ce-Time": "2020-01-02T03:04:05.123+02:00", "Ce-Subject": "sub", "Ce-Dataschema": "https://example.test/d",
			"Ce-Camera": "cam", "Ce-Regionx": "12", "Content-Type": "image/jpeg"}, []byte{0xff, 0xd8}},
		{"binary without time or content type", map[string]string{"Ce-Specversion": "1.0", "Ce-Id": "2", "Ce-Type": "t", "Ce-Source": "/s"}, []byte("raw")},
		{"structured with typed extensions", map[string]string{"Content-Type": "application/cloudevents+json"},
			[]byte(`{"specversion":"1.0","id":"3","type":"t","source":"/s","count":7,"flag":true,"name":"n","datacontenttype":"application/json","data":{"x":[1,2]}}`)},
		{"structured base64", map[string]string{"Content-Type": "application/cloudevents+json"},
			[]byte(`{"specversion":"1.0","id":"4","type":"t","source":"/s","datacontenttype":"application/octet-stream","data_base64":"AAEC"}`)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, ingress.URL+"/", bytes.NewReader(c.body))
			hdr := http.Header{}
			for k, v := range c.header {
				req.Header.Set(k, v)
				hdr.Set(k, v)
			}
			resp, err := http.DefaultClient.Do(req)
			must(t, err)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusAccepted {
				t.Fatalf("ingress %d", resp.StatusCode)
			}
			var got amqp.Delivery
			select {
			case got = <-deliveries:
			case <-time.After(10 * time.Second):
				t.Fatal("nothing published")
			}
			ev, err := broker.DecodeEvent(context.Background(), hdr, c.body)
			must(t, err)
			want := rabbit.CloudEventToRabbitMQMessage(ev, "", "")
			if !equalTables(got.Headers, want.Headers) {
				t.Errorf("headers differ:\nedgewatch %#v\nupstream  %#v", got.Headers, want.Headers)
			}
			if !bytes.Equal(got.Body, want.Body) || got.MessageId != want.MessageId || got.ContentType != want.ContentType || got.DeliveryMode != want.DeliveryMode {
				t.Errorf("message differs: body %q/%q id %q/%q type %q/%q mode %d/%d", got.Body, want.Body,
					got.MessageId, want.MessageId, got.ContentType, want.ContentType, got.DeliveryMode, want.DeliveryMode)
			}
		})
	}
}
