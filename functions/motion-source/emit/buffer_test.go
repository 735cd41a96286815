package emit_test

import (
	"context"
	"image"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgewatch/edgewatch/functions/motion-source/emit"
	"github.com/edgewatch/edgewatch/functions/motion-source/internal/contract"
	"github.com/edgewatch/edgewatch/functions/motion-source/metrics"
)

// received is one event a sink took.
type received struct {
	id string
	x  int
	at time.Time
}

// outageSink is a CloudEvents sink that answers refuse (503 as the broker
// does while RabbitMQ is away) until it is opened, then takes every event.
type outageSink struct {
	srv     *httptest.Server
	refuse  atomic.Int32 // the status answered while closed
	open    atomic.Bool
	refused atomic.Int64

	mu         sync.Mutex
	got        []received
	refusedIDs map[string]bool
}

func newOutageSink(t *testing.T, refuse int) *outageSink {
	t.Helper()
	s := &outageSink{refusedIDs: map[string]bool{}}
	s.refuse.Store(int32(refuse))
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e, err := cehttp.NewEventFromHTTPRequest(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if !s.open.Load() {
			s.mu.Lock()
			s.refusedIDs[e.ID()] = true
			s.mu.Unlock()
			s.refused.Add(1)
			http.Error(w, "the broker is unavailable", int(s.refuse.Load()))
			return
		}
		x, err := types.ToInteger(e.Extensions()[contract.ExtRegionX])
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.got = append(s.got, received{id: e.ID(), x: int(x), at: e.Time()})
		s.mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *outageSink) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

func (s *outageSink) wasRefused(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refusedIDs[id]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func motionAt(t0 time.Time, i int) emit.Motion {
	return emit.Motion{Camera: "cam", Time: t0.Add(time.Duration(i) * 100 * time.Millisecond), Region: image.Rect(i, 0, i+10, 10),
		Frame: image.Pt(100, 100), JPEG: make([]byte, 100)}
}

// startOutage starts a queue of size 3 on a sink that refuses, pushes event
// 0 and waits until the sink has refused it, so that the queue knows the sink
// refuses before the rest come.
func startOutage(t *testing.T, cfg emit.Config, policy emit.Policy) (*outageSink, *emit.Queue, metrics.Camera, func()) {
	t.Helper()
	sink := newOutageSink(t, http.StatusServiceUnavailable)
	cfg.Sink, cfg.Backoff, cfg.BackoffMax = sink.srv.URL, time.Millisecond, 20*time.Millisecond
	client, err := emit.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.Discard("cam")
	q := emit.NewQueue(client, 3, policy, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), m)
	done := make(chan struct{})
	go func() { q.Run(context.Background()); close(done) }()
	return sink, q, m, func() { q.Close(); <-done }
}

func TestBufferDeliversALiveCamerasEventsAfterAnOutage(t *testing.T) {
	sink, q, m, stop := startOutage(t, emit.Config{BufferWindow: time.Minute}, emit.DropOldest)
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	q.Push(context.Background(), motionAt(t0, 0))
	waitFor(t, "the first refusal", func() bool { return q.Buffered() == 1 })
	for i := 1; i < 40; i++ {
		if q.Push(context.Background(), motionAt(t0, i)) {
			t.Fatalf("event %d dropped while the buffer had room", i)
		}
	}
	waitFor(t, "more refusals", func() bool { return sink.refused.Load() >= 3 })
	sink.open.Store(true)
	waitFor(t, "the buffer to drain", func() bool { return q.Len() == 0 })
	stop()

	got := sink.received()
	if len(got) != 40 {
		t.Fatalf("the sink got %d events after the outage, want all 40 of the queue of size 3", len(got))
	}
	ids := map[string]bool{}
	for i, r := range got {
		if r.x != i || !r.at.Equal(t0.Add(time.Duration(i)*100*time.Millisecond)) {
			t.Fatalf("event %d arrived as region %d at %v: want the original order and time", i, r.x, r.at)
		}
		ids[r.id] = true
	}
	if len(ids) != 40 {
		t.Fatalf("%d distinct ids among 40 events", len(ids))
	}
	if !sink.wasRefused(got[0].id) {
		t.Fatal("the event delivered first is not the one refused: a redelivery got a new id")
	}
	sent, failed, dropped := q.Counts()
	if sent != 40 || failed != 0 || dropped != 0 || testutil.ToFloat64(m.EventsBuffered) != 40 ||
		testutil.ToFloat64(m.BufferDropped) != 0 || testutil.ToFloat64(m.QueueBytes) != 0 {
		t.Fatalf("sent %d failed %d dropped %d buffered %v buffer-dropped %v bytes %v", sent, failed, dropped,
			testutil.ToFloat64(m.EventsBuffered), testutil.ToFloat64(m.BufferDropped), testutil.ToFloat64(m.QueueBytes))
	}

	// Once drained, the queue is bounded by its size again.
	sink.open.Store(false)
	waitFor(t, "an idle queue", func() bool { return q.Len() == 0 })
}

func TestBufferKeepsTheNewestWindowAndBytes(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  emit.Config
		// keep is how many of the newest of events 1–30 are kept, total
		// how many are delivered in all: event 0 is kept only when it is
		// in flight as the bounds are reached.
		keep, total func(got int) int
	}{
		// The newest is at 3.0 s: the window keeps 2.0–3.0 s, events 20–30.
		{"window", emit.Config{BufferWindow: time.Second}, func(int) int { return 11 }, func(got int) int { return got }},
		// 800 bytes hold 8 events of 100 bytes.
		{"bytes", emit.Config{BufferWindow: time.Hour, BufferBytes: 800}, func(got int) int { return got }, func(int) int { return 8 }},
	} {
		t.Run(c.name, func(t *testing.T) {
			sink, q, m, stop := startOutage(t, c.cfg, emit.DropOldest)
			t0 := time.Now()
			q.Push(context.Background(), motionAt(t0, 0))
			waitFor(t, "the first refusal", func() bool { return q.Buffered() == 1 })
			for i := 1; i <= 30; i++ {
				q.Push(context.Background(), motionAt(t0, i))
			}
			sink.open.Store(true)
			waitFor(t, "the buffer to drain", func() bool { return q.Len() == 0 })
			stop()
			got := sink.received()
			var newest []int
			for _, r := range got {
				if r.x != 0 {
					newest = append(newest, r.x)
				}
			}
			keep := c.keep(len(newest))
			if len(newest) != keep || len(got) != c.total(len(got)) || newest[0] != 31-keep || newest[len(newest)-1] != 30 {
				t.Fatalf("delivered %v (and event 0: %v) after the outage; want the newest %d of 1–30, %d in all",
					newest, len(got) > len(newest), keep, c.total(len(got)))
			}
			_, _, dropped := q.Counts()
			if int(dropped) != 31-len(got) || testutil.ToFloat64(m.EventsDropped) != float64(dropped) ||
				testutil.ToFloat64(m.BufferDropped) != float64(dropped) || testutil.ToFloat64(m.EventsBuffered) != 31 {
				t.Fatalf("%d delivered, %d dropped (metric %v, buffer %v), %v buffered", len(got), dropped,
					testutil.ToFloat64(m.EventsDropped), testutil.ToFloat64(m.BufferDropped), testutil.ToFloat64(m.EventsBuffered))
			}
		})
	}
}

func TestBufferMakesAFileWaitForTheSink(t *testing.T) {
	sink, q, m, stop := startOutage(t, emit.Config{}, emit.Wait)
	t0 := time.Now()
	pushed := make(chan int, 20)
	go func() {
		for i := 0; i < 10; i++ {
			if q.Push(context.Background(), motionAt(t0, i)) {
				t.Errorf("event %d dropped", i)
			}
			pushed <- i
		}
		close(pushed)
	}()
	waitFor(t, "refusals", func() bool { return sink.refused.Load() >= 5 })
	if n := len(pushed); n > 4 {
		t.Fatalf("%d pushes returned while the sink refused; a file waits at 1 in flight + 3", n)
	}
	sink.open.Store(true)
	for range pushed {
	}
	stop()
	got := sink.received()
	if len(got) != 10 || testutil.ToFloat64(m.EventsDropped) != 0 {
		t.Fatalf("the sink got %d, %v dropped; want all 10, none dropped", len(got), testutil.ToFloat64(m.EventsDropped))
	}
	for i, r := range got {
		if r.x != i {
			t.Fatalf("out of order: %v", got)
		}
	}
}

func TestBufferDoesNotRetryAnEventRefusedForGood(t *testing.T) {
	sink := newOutageSink(t, http.StatusBadRequest)
	client, err := emit.NewClient(emit.Config{Sink: sink.srv.URL, Backoff: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.Discard("cam")
	q := emit.NewQueue(client, 3, emit.DropOldest, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), m)
	done := make(chan struct{})
	go func() { q.Run(context.Background()); close(done) }()
	q.Push(context.Background(), motionAt(time.Now(), 0))
	q.Close()
	<-done
	if _, failed, _ := q.Counts(); failed != 1 || sink.refused.Load() != 1 || q.Buffered() != 0 {
		t.Fatalf("failed %d after %d attempts, %d buffered; a 400 is final", failed, sink.refused.Load(), q.Buffered())
	}
}
