package notify_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgewatch/edgewatch/functions/alert/incident"
	"github.com/edgewatch/edgewatch/functions/alert/notify"
	"github.com/edgewatch/edgewatch/functions/alert/notify/ntfy"
	"github.com/edgewatch/edgewatch/functions/alert/notify/webhook"
)

// memOutbox is an in-memory notify.Outbox that records what the dispatcher
// decided; the PostgreSQL outbox has its own tests.
type memOutbox struct {
	mu      sync.Mutex
	pending map[int64]notify.Job
	due     map[int64]time.Time
	sent    []int64
	failed  []int64
	retries map[int64]time.Time
}

func newOutbox(jobs ...notify.Job) *memOutbox {
	o := &memOutbox{pending: map[int64]notify.Job{}, due: map[int64]time.Time{}, retries: map[int64]time.Time{}}
	for _, j := range jobs {
		o.pending[j.ID] = j
	}
	return o
}

func (o *memOutbox) Claim(_ context.Context, channel string, limit int, _ time.Duration) ([]notify.Job, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []notify.Job
	for id, j := range o.pending {
		if j.Channel != channel || time.Now().Before(o.due[id]) || len(out) == limit {
			continue
		}
		j.Attempts++
		delete(o.pending, id)
		out = append(out, j)
	}
	return out, nil
}

func (o *memOutbox) Sent(_ context.Context, id int64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.sent = append(o.sent, id)
	return nil
}

func (o *memOutbox) Retry(_ context.Context, id int64, at time.Time, _ string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.retries[id] = at
	return nil
}

func (o *memOutbox) Failed(_ context.Context, id int64, _ string) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.failed = append(o.failed, id)
	return nil
}

func (o *memOutbox) snapshot() (sent, failed []int64, retries map[int64]time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	r := map[int64]time.Time{}
	for k, v := range o.retries {
		r[k] = v
	}
	return append([]int64(nil), o.sent...), append([]int64(nil), o.failed...), r
}

type notifierFunc func(ctx context.Context, m notify.Message) error

func (f notifierFunc) Notify(ctx context.Context, m notify.Message) error { return f(ctx, m) }

func job(id int64, channel string) notify.Job {
	return notify.Job{ID: id, Channel: channel, Kind: notify.KindOpened,
		Incident: incident.Incident{ID: "i", Camera: "cam", Class: "fire"}}
}

func counters() (sent, failed, retried *prometheus.CounterVec) {
	mk := func(name string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: name}, []string{"channel"})
	}
	return mk("sent"), mk("failed"), mk("retried")
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	o := newOutbox(job(1, "chat"))
	sent, failed, retried := counters()
	d := notify.NewDispatcher(notify.DispatcherConfig{Outbox: o, Sent: sent, Failed: failed, Retried: retried,
		Backoff: 10 * time.Millisecond, Poll: 10 * time.Millisecond,
		Notifiers: map[string]notify.Notifier{"chat": notifierFunc(func(context.Context, notify.Message) error {
			return &notify.Error{Retry: true, After: 42 * time.Second, Err: errors.New("status 429")}
		})}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	start := time.Now()
	go d.Run(ctx)
	waitFor(t, "the retry", func() bool { _, _, r := o.snapshot(); return len(r) == 1 })
	_, _, r := o.snapshot()
	if at := r[1]; at.Before(start.Add(42*time.Second)) || at.After(time.Now().Add(43*time.Second)) {
		t.Fatalf("retry at %v, want about 42 s from now", at.Sub(start))
	}
	if testutil.ToFloat64(retried.WithLabelValues("chat")) != 1 {
		t.Fatal("retry not counted")
	}
}

func TestGivesUpAfterMaxAttemptsAndOnPermanentErrors(t *testing.T) {
	o := newOutbox(job(1, "webhook"), job(2, "x"))
	sent, failed, retried := counters()
	d := notify.NewDispatcher(notify.DispatcherConfig{Outbox: o, Sent: sent, Failed: failed, Retried: retried,
		MaxAttempts: 3, Backoff: time.Millisecond, Poll: 5 * time.Millisecond,
		Notifiers: map[string]notify.Notifier{
			"webhook": notifierFunc(func(context.Context, notify.Message) error {
				return &notify.Error{Retry: true, Err: errors.New("status 503")}
			}),
			"x": notifierFunc(func(context.Context, notify.Message) error {
				return &notify.Error{Retry: false, Err: errors.New("status 403")}
			}),
		}})
	// Put retried jobs back, as the real outbox does.
	go func() {
		for range 200 {
			time.Sleep(5 * time.Millisecond)
			o.mu.Lock()
			for id := range o.retries {
				j := job(id, "webhook")
				j.Attempts = int(testutil.ToFloat64(retried.WithLabelValues("webhook")))
				o.pending[id] = j
				delete(o.retries, id)
			}
			o.mu.Unlock()
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	waitFor(t, "both failures", func() bool { _, f, _ := o.snapshot(); return len(f) == 2 })
	if got := testutil.ToFloat64(retried.WithLabelValues("webhook")); got != 2 {
		t.Fatalf("webhook retried %g times, want 2 (3 attempts)", got)
	}
	if testutil.ToFloat64(failed.WithLabelValues("x")) != 1 || testutil.ToFloat64(retried.WithLabelValues("x")) != 0 {
		t.Fatal("a 403 was retried")
	}
}

func TestSlowChannelDoesNotBlockOthers(t *testing.T) {
	o := newOutbox(job(1, "slow"), job(2, "fast"))
	release := make(chan struct{})
	defer close(release)
	d := notify.NewDispatcher(notify.DispatcherConfig{Outbox: o, Poll: time.Hour, Timeout: time.Minute,
		Notifiers: map[string]notify.Notifier{
			"slow": notifierFunc(func(ctx context.Context, _ notify.Message) error {
				select {
				case <-release:
				case <-ctx.Done():
				}
				return ctx.Err()
			}),
			"fast": notifierFunc(func(context.Context, notify.Message) error { return nil }),
		}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	waitFor(t, "the fast channel", func() bool { s, _, _ := o.snapshot(); return len(s) == 1 && s[0] == 2 })
}

// TestNoSecretInLogs runs real channels with secrets in their URLs and
// tokens against a port nobody listens on and one that fails, and reads the
// whole log.
func TestNoSecretInLogs(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	const secret = "hunter2-secret"
	client := &http.Client{Timeout: time.Second}
	wh, _ := webhook.New(webhook.Config{URL: "http://user:" + secret + "@" + dead + "/hooks/" + secret + "?token=" + secret,
		Authorization: "Bearer " + secret}, client)
	nt, _ := ntfy.New(ntfy.Config{URL: "http://" + dead + "/" + secret, Token: secret}, client)
	var logs bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewJSONHandler(writerFunc(func(p []byte) (int, error) {
		mu.Lock()
		defer mu.Unlock()
		return logs.Write(p)
	}), nil))
	o := newOutbox(job(1, "webhook"), job(2, "ntfy"))
	d := notify.NewDispatcher(notify.DispatcherConfig{Outbox: o, Logger: logger, MaxAttempts: 1, Poll: time.Hour,
		Notifiers: map[string]notify.Notifier{"webhook": wh, "ntfy": nt}})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	waitFor(t, "both to fail", func() bool { _, f, _ := o.snapshot(); return len(f) == 2 })
	mu.Lock()
	out := logs.String()
	mu.Unlock()
	if !strings.Contains(out, "failed for good") || !strings.Contains(out, dead) {
		t.Fatalf("the failures are not logged usefully:\n%s", out)
	}
	if strings.Contains(out, secret) {
		t.Fatalf("a secret reached the log:\n%s", out)
	}
}

type writerFunc func(p []byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"https://hooks.slack.com/services/T0/B0/XXXX":      "https://hooks.slack.com/[redacted]",
		"https://ntfy.sh/secret-topic":                     "https://ntfy.sh/[redacted]",
		"https://u:p@example.com/":                         "https://example.com/[redacted]",
		"https://example.com?token=abc":                    "https://example.com/[redacted]",
		"https://api.x.com":                                "https://api.x.com",
		"::not a url":                                      "[redacted url]",
		"postgres://postgres:pw@db:5432/edgewatch?ssl=off": "postgres://db:5432/[redacted]",
	} {
		if got := notify.Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
