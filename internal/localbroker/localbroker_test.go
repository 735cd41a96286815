package localbroker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgewatch/edgewatch/internal/functions"
	"github.com/edgewatch/edgewatch/internal/httpserver"
)

// amqpURL is the local RabbitMQ the tests run against.
func amqpURL() string {
	if u := os.Getenv("RABBITMQ_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

// TestStartServesBothIngressesAndStopsInOrder starts the broker on the real
// RabbitMQ with the repository's Triggers, checks that both ingresses
// answer, and stops it as the runner does: ingress closed, dispatchers
// drained, servers closed.
func TestStartServesBothIngressesAndStopsInOrder(t *testing.T) {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	internal, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// No subscriber is reached: no event gets as far as a dispatcher.
	services := map[string]string{}
	for _, name := range functions.Names() {
		services[name] = "http://127.0.0.1:9/"
	}
	runCtx, stopRun := context.WithCancel(context.Background())
	defer stopRun()
	lb, err := Start(t.Context(), runCtx, slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(), Options{
		Addr: "127.0.0.1:0", AMQPURL: amqpURL(), UID: "localbroker-test-" + hex.EncodeToString(b),
		TriggersDir: "../../config/triggers", Services: services, StopTimeout: 5 * time.Second,
		Internal: internal, ReadTimeout: httpserver.DefaultReadTimeout,
	})
	if err != nil {
		t.Fatalf("start (is RabbitMQ running? make deps): %v", err)
	}
	t.Cleanup(func() { _ = lb.Teardown(context.Background()) })
	if !strings.HasPrefix(lb.URL(), "http://127.0.0.1:") {
		t.Fatalf("ingress URL %q", lb.URL())
	}
	// An empty POST is no CloudEvent: either ingress answers it with a 4xx.
	post := func(url string) int {
		res, err := http.Post(url, "application/json", strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	for _, url := range []string{lb.URL(), "http://" + internal.Addr().String() + "/"} {
		if code := post(url); code < 400 || code >= 500 {
			t.Errorf("%s answered a POST with no event %d, want a 4xx", url, code)
		}
	}
	lb.CloseIngress()
	stopRun()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := lb.Drain(ctx); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("drain: %v", err)
	}
	if err := lb.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if _, err := http.Post(lb.URL(), "application/json", strings.NewReader("")); err == nil {
		t.Error("the ingress still serves after Close")
	}
}

// TestStartFailsOnBadTriggersAndClosesTheInternalListener checks that a
// failed start leaves no listener open.
func TestStartFailsOnBadTriggersAndClosesTheInternalListener(t *testing.T) {
	internal, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Start(t.Context(), t.Context(), slog.New(slog.NewTextHandler(io.Discard, nil)), prometheus.NewRegistry(),
		Options{Addr: "127.0.0.1:0", AMQPURL: amqpURL(), TriggersDir: t.TempDir() + "/missing", Internal: internal})
	if err == nil {
		t.Fatal("started with no Trigger manifests")
	}
	if _, err := internal.Accept(); err == nil {
		t.Fatal("the internal listener is still open after a failed start")
	}
}
