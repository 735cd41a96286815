package emit

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/edgewatch/edgewatch/functions/motion-source/metrics"
)

// Policy says what Push does when the queue is full.
type Policy int

const (
	// DropOldest drops the oldest waiting event and counts it in
	// edgewatch_motion_source_events_dropped_total: for a live camera the
	// freshest motion is what a detector should see, and a camera cannot be
	// asked to wait. While the sink refuses, the queue holds the camera's
	// newest events up to the buffer window and bytes instead of its size,
	// and delivers them when the sink is back.
	DropOldest Policy = iota
	// Wait blocks Push until there is room: a file read faster than real
	// time is slowed down to what the sink takes, and nothing is dropped;
	// while the sink refuses, the file waits for it.
	Wait
)

// entry is one queued event.
type entry struct {
	m Motion
	// held marks an event queued while the sink refused (counted once in
	// edgewatch_motion_source_events_buffered_total).
	held bool
}

// Queue is one camera's bounded send queue with one sender. While the sink
// accepts, at most size events wait; while it refuses (connection refused,
// 5xx, 429, 404 while a Broker is created), the sender keeps trying the
// oldest event with a growing pause, and a live camera's queue becomes an
// outage buffer bounded by the newest BufferWindow of event time and
// BufferBytes of JPEG, oldest dropped first, until what it held is delivered.
// Each event keeps its id from the first attempt to the last, so a
// redelivery is a duplicate, never a second event.
type Queue struct {
	client *Client
	log    *slog.Logger
	m      metrics.Camera
	policy Policy
	rec    Recorder // nil: nothing recorded
	buf    bufferConfig

	mu       sync.Mutex
	items    []entry // FIFO; items[0] is being sent while busy
	size     int
	bytes    int           // JPEG bytes in items
	held     int           // entries in items with held set
	refusing bool          // the last attempt was refused
	wake     chan struct{} // an event was pushed, or the queue closed
	room     chan struct{} // an event left the queue
	closed   bool
	busy     bool // items[0] is being sent

	sent, failed, dropped, buffered atomic.Int64
}

// Counts returns how many events were sent, failed and dropped so far.
func (q *Queue) Counts() (sent, failed, dropped int64) {
	return q.sent.Load(), q.failed.Load(), q.dropped.Load()
}

// Buffered returns how many events were held while the sink refused.
func (q *Queue) Buffered() int64 { return q.buffered.Load() }

// NewQueue returns a queue of at most size events (default 16) feeding
// client, full as the policy says; rec, when not nil, is told of every event
// delivered. The client's configuration bounds the outage buffer.
func NewQueue(client *Client, size int, policy Policy, rec Recorder, log *slog.Logger, m metrics.Camera) *Queue {
	if size <= 0 {
		size = 16
	}
	return &Queue{client: client, log: log, m: m, policy: policy, rec: rec, size: size, buf: client.buffer,
		wake: make(chan struct{}, 1), room: make(chan struct{}, 1)}
}

// Push enqueues m. When the queue is full it drops the oldest event
// (DropOldest) or waits for room until ctx ends (Wait). It reports whether an
// event was dropped: the oldest, or m itself after Close or when ctx ended
// while waiting.
func (q *Queue) Push(ctx context.Context, m Motion) (dropped bool) {
	q.mu.Lock()
	for q.policy == Wait && !q.closed && q.waiting() >= q.size {
		q.mu.Unlock()
		select {
		case <-ctx.Done():
			q.countDropped(1, 0)
			return true
		case <-q.room:
		}
		q.mu.Lock()
	}
	if q.closed {
		q.mu.Unlock()
		q.countDropped(1, 0)
		return true
	}
	if m.ID == "" {
		m.ID = uuid.NewString()
	}
	e := entry{m: m}
	if q.refusing {
		q.hold(&e)
	}
	q.items = append(q.items, e)
	q.bytes += len(m.JPEG)
	n, held := 0, 0
	if q.policy == DropOldest {
		n, held = q.trim()
	}
	q.gauges()
	q.mu.Unlock()
	q.countDropped(n, held)
	select {
	case q.wake <- struct{}{}:
	default:
	}
	return n > 0
}

// hold marks e as held in the outage buffer; q.mu is held.
func (q *Queue) hold(e *entry) {
	if e.held {
		return
	}
	e.held = true
	q.held++
	q.buffered.Add(1)
	q.m.EventsBuffered.Inc()
}

// trim drops the oldest events a live camera's queue may not keep: past its
// size while the sink accepts and nothing held is waiting; past the bytes;
// and, while events are held, older than the window before the newest. The
// event being sent is never dropped. It returns how many it dropped and how
// many of those were held; q.mu is held.
func (q *Queue) trim() (n, held int) {
	first := 0
	if q.busy {
		first = 1
	}
	holding := q.refusing || q.held > 0
	newest := q.items[len(q.items)-1].m.Time
	for len(q.items) > first+1 {
		old := q.items[first]
		over := q.bytes > q.buf.bytes ||
			(!holding && len(q.items)-first > q.size) ||
			(holding && q.buf.window > 0 && newest.Sub(old.m.Time) > q.buf.window)
		if !over {
			break
		}
		q.remove(first)
		n++
		if old.held {
			held++
		}
	}
	return n, held
}

// remove takes out items[i]; q.mu is held.
func (q *Queue) remove(i int) {
	e := q.items[i]
	q.bytes -= len(e.m.JPEG)
	if e.held {
		q.held--
	}
	copy(q.items[i:], q.items[i+1:])
	q.items[len(q.items)-1] = entry{}
	q.items = q.items[:len(q.items)-1]
}

// waiting returns the number of events queued and not being sent; q.mu is
// held.
func (q *Queue) waiting() int {
	if q.busy {
		return len(q.items) - 1
	}
	return len(q.items)
}

// gauges publishes the queue's depth and bytes; q.mu is held.
func (q *Queue) gauges() {
	q.m.QueueDepth.Set(float64(q.waiting()))
	q.m.QueueBytes.Set(float64(q.bytes))
}

func (q *Queue) countDropped(n, held int) {
	if n == 0 {
		return
	}
	q.m.EventsDropped.Add(float64(n))
	q.dropped.Add(int64(n))
	if held > 0 {
		q.m.BufferDropped.Add(float64(held))
	}
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
	return len(q.items)
}

// Run sends queued events until the queue is closed and empty, or ctx ends
// (events still waiting then are counted as dropped). An event the sink
// refuses is tried again, after a pause that doubles from the client's
// Backoff up to its BackoffMax, until the sink takes it or the buffer's
// bounds drop it.
func (q *Queue) Run(ctx context.Context) {
	pause := q.buf.backoff
	for {
		m, ok := q.next(ctx)
		if !ok {
			return
		}
		if !q.send(ctx, m) {
			select {
			case <-ctx.Done():
			case <-time.After(pause):
			}
			pause = min(2*pause, q.buf.backoffMax)
			continue
		}
		pause = q.buf.backoff
	}
}

// next waits for an event and marks it as being sent; it stays at the head
// of the queue until send settles it.
func (q *Queue) next(ctx context.Context) (Motion, bool) {
	for {
		if ctx.Err() != nil {
			q.dropAll()
			return Motion{}, false
		}
		q.mu.Lock()
		if len(q.items) > 0 {
			q.busy = true
			m := q.items[0].m
			q.gauges()
			q.mu.Unlock()
			select { // one fewer waits: a file's Push may go on
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

// settle ends the attempt at the head: done removes it (delivered or
// refused for good), otherwise it stays, held, and the queue is marked as
// facing a refusing sink.
func (q *Queue) settle(done bool) {
	q.mu.Lock()
	q.busy = false
	if done {
		if q.refusing {
			q.log.Info("the sink takes motion events again; delivering what was held", "held", q.held, "queued", len(q.items))
		}
		q.refusing = false
		q.remove(0)
	} else {
		if !q.refusing {
			q.log.Warn("the sink refuses motion events; holding the newest in the buffer", "queued", len(q.items),
				"window", q.buf.window.String(), "bytes", q.buf.bytes)
		}
		q.refusing = true
		for i := range q.items {
			q.hold(&q.items[i])
		}
	}
	q.gauges()
	q.mu.Unlock()
	if done {
		select {
		case q.room <- struct{}{}:
		default:
		}
	}
}

// send makes one attempt at m and reports whether it is settled: delivered,
// or refused for good (counted as failed).
func (q *Queue) send(ctx context.Context, m Motion) bool {
	e, err := q.client.Event(m)
	if err != nil {
		q.settle(true)
		q.m.EventsFailed.Inc()
		q.failed.Add(1)
		q.log.Error("cannot build motion event", "err", err)
		return true
	}
	start := time.Now()
	again, err := q.client.Attempt(ctx, e)
	q.m.Stage(metrics.StageSend).Observe(time.Since(start).Seconds())
	switch {
	case err == nil:
		q.settle(true)
	case again && ctx.Err() == nil:
		q.settle(false)
		q.log.Debug("motion event refused; trying again", "id", e.ID(), "err", err)
		return false
	default:
		q.settle(true)
		q.m.EventsFailed.Inc()
		q.failed.Add(1)
		q.log.Warn("motion event not delivered", "id", e.ID(), "err", err)
		return true
	}
	q.m.EventsSent.Inc()
	q.sent.Add(1)
	if q.rec != nil {
		q.rec.Sent(m, e.ID())
	}
	q.log.Debug("motion event sent", "id", e.ID(), "region", m.Region.String(), "bytes", len(m.JPEG))
	return true
}

// dropAll empties the queue, counting what it held as dropped.
func (q *Queue) dropAll() {
	q.mu.Lock()
	n, held := len(q.items), q.held
	q.items, q.bytes, q.held, q.busy = nil, 0, 0, false
	q.gauges()
	q.mu.Unlock()
	select {
	case q.room <- struct{}{}:
	default:
	}
	q.countDropped(n, held)
}
