package amqpx

import (
	"context"
	"os"
	"testing"
	"time"
)

func amqpURL() string {
	if u := os.Getenv("RABBITMQ_URL"); u != "" {
		return u
	}
	return "amqp://guest:guest@127.0.0.1:5672/"
}

func TestChannelWaitsForConnectionAndRunStops(t *testing.T) {
	c := New(amqpURL(), Options{Name: "edgewatch amqpx test"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()

	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	ch, err := c.Channel(wait)
	if err != nil {
		t.Fatal(err)
	}
	q, err := ch.QueueDeclare("", false, true, true, false, nil)
	if err != nil || q.Name == "" {
		t.Fatalf("declare on the channel: %v", err)
	}
	if !c.Connected() {
		t.Error("Connected() = false while connected")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	if c.Connected() {
		t.Error("still connected after Run returned")
	}
	if _, err := c.TryChannel(); err == nil {
		t.Error("TryChannel succeeded without a connection")
	}
}

func TestUnreachableServerKeepsRetryingUntilCancelled(t *testing.T) {
	// Port 1 on loopback refuses connections at once.
	c := New("amqp://guest:guest@127.0.0.1:1/", Options{MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	short, stop := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer stop()
	if _, err := c.Channel(short); err == nil {
		t.Fatal("Channel succeeded with RabbitMQ unreachable")
	}
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
}

func TestBackoffDoublesUpToTheCap(t *testing.T) {
	c := New("amqp://x", Options{MinBackoff: 100 * time.Millisecond, MaxBackoff: time.Second})
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i, w := range want {
		if got := c.backoff(i + 1); got != w*time.Millisecond {
			t.Errorf("backoff(%d) = %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
}

func TestRedactHidesThePassword(t *testing.T) {
	url := "amqp://user:fake-s3cret@host:5672/"
	if got := redact(errString("dial "+url+": refused"), url); got != "dial amqp://user:***@host:5672/: refused" {
		t.Errorf("redact = %q", got)
	}
}

type errString string

func (e errString) Error() string { return string(e) }
