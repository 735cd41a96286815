package emit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/metrics"
)

// Policy says what Push does when the queue is full.
type Policy int

const (
	// DropOldest drops the oldest waiting event and counts it in
	// edgewatch_motion_source_events_dropped_total: for a live camera the
	// freshest motion is what a detector should see, and a camera cannot be
	// asked to wait.
	DropOldest Policy = iota
	// Wait blocks Push until there is room: a file read faster than real
	// time is slowed down to what the sink takes, and nothing is dropped.
	Wait
)

// Queue is one camera's bounded send queue with one sender. Memory stays
// bounded by size × image size whatever the policy.
type Queue struct {
	client *Client
	log    *slog.Logger
	m      metrics.Camera
	policy Policy
	rec    Recorder // nil: nothing recorded

	mu     sync.Mutex
	items  []Motion // FIFO, len ≤ size
	size   int
	wake   chan struct{} // an event was pushed, or the queue closed
	room   chan struct{} // an event left the queue
	closed bool
	busy   bool // an event popped and being sent

	sent, failed, dropped atomic.Int64
}

// Counts returns how many events were sent, failed and dropped so far.
func (q *Queue) Counts() (sent, failed, dropped int64) {
	return q.sent.Load(), q.failed.Load(), q.dropped.Load()
}

// NewQueue returns a queue of at most size events (default 16) feeding
// client, full as the policy says; rec, when not nil, is told of every event
// delivered.
func NewQueue(client *Client, size int, policy Policy, rec Recorder, log *slog.Logger, m metrics.Camera) *Queue {
	if size <= 0 {
		size = 16
	}
	return &Queue{client: client, log: log, m: m, policy: policy, rec: rec, size: size,
		wake: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

// Push enqueues m. When the queue is full it drops the oldest event
// (DropOldest) or waits for room until ctx ends (Wait). It reports whether an
// event was dropped: the oldest, or m itself after Close or when ctx ended
// while waiting.
func (q *Queue) Push(ctx context.Context, m Motion) (dropped bool) {
	q.mu.Lock()
	for q.policy == Wait && !q.closed && len(q.items) >= q.size {
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			q.m.EventsDropped.Inc()
			q.dropped.Add(1)
			return true
		case <-q.room:
		}
		q.mu.Lock()
	}
	if q.closed {
		q.mu.Unlock()
		q.m.EventsDropped.Inc()
		q.dropped.Add(1)
		return true
	}
	if len(q.items) >= q.size {
		q.items[0] = Motion{}
		q.items = q.items[1:]
		dropped = true
	}
	q.items = append(q.items, m)
	q.m.QueueDepth.Set(float64(len(q.items)))
	q.mu.Unlock()
	if dropped {
		q.m.EventsDropped.Inc()
		q.dropped.Add(1)
	}
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return dropped
}

// Close stops accepting events; Run returns once the queue is empty.
func (q *Queue) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Len returns the number of events waiting or being sent.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.busy {
		return len(q.items) + 1
	}
	return len(q.items)
}

// Run sends queued events until the queue is closed and empty, or ctx ends
// (events still waiting then are counted as dropped).
func (q *Queue) Run(ctx context.Context) {
	for {
		m, ok := q.pop(ctx)
		if !ok {
			return
		}
		q.send(ctx, m)
		q.mu.Lock()
		q.busy = false
		q.mu.Unlock()
	}
}

func (q *Queue) pop(ctx context.Context) (Motion, bool) {
	for {
		if ctx.Err() != nil {
			q.dropAll()
			return Motion{}, false
		}
		q.mu.Lock()
		if len(q.items) > 0 {
			m := q.items[0]
			q.items[0] = Motion{}
			q.items = q.items[1:]
			q.busy = true
			q.m.QueueDepth.Set(float64(len(q.items)))
			q.mu.Unlock()
			select {
			case q.room <- struct{}{}:
			default:
			}
			return m, true
		}
		closed := q.closed
		q.mu.Unlock()
		if closed {
			return Motion{}, false
		}
		select {
		case <-ctx.Done():
			q.dropAll()
			return Motion{}, false
		case <-q.wake:
		}
	}
}

func (q *Queue) send(ctx context.Context, m Motion) {
	e, err := q.client.Event(m)
	if err != nil {
		q.m.EventsFailed.Inc()
		q.failed.Add(1)
		q.log.Error("cannot build motion event", "err", err)
		return
	}
	start := time.Now()
	err = q.client.Send(ctx, e)
	q.m.Stage(metrics.StageSend).Observe(time.Since(start).Seconds())
	if err != nil {
		q.m.EventsFailed.Inc()
		q.failed.Add(1)
		q.log.Warn("motion event not delivered", "id", e.ID(), "err", err)
		return
	}
	q.m.EventsSent.Inc()
	q.sent.Add(1)
	if q.rec != nil {
		q.rec.Sent(m, e.ID())
	}
	q.log.Debug("motion event sent", "id", e.ID(), "region", m.Region.String(), "bytes", len(m.JPEG))
}

// dropAll empties the queue, counting what it held as dropped.
func (q *Queue) dropAll() {
	q.mu.Lock()
	n := len(q.items)
	q.items = nil
	q.m.QueueDepth.Set(0)
	q.mu.Unlock()
	select {
	case q.room <- struct{}{}:
	default:
	}
	q.m.EventsDropped.Add(float64(n))
	q.dropped.Add(int64(n))
}
