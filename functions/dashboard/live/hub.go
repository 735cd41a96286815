// Package live fans incident changes out to the map's server-sent event
// streams. It listens on PostgreSQL's LISTEN/NOTIFY channel that alert's
// schema announces changes on, loads each changed incident and hands it to
// every subscriber.
package live

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/lib/pq"
)

// Event is one message for the streams.
type Event struct {
	// Name is the SSE event name: "incident", or "resync" when changes may
	// have been missed and clients should reload.
	Name string
	// Data is the JSON payload.
	Data []byte
}

// Loader turns an incident id from a notification into the JSON the
// streams carry; ok is false when the incident is not to be shown.
type Loader func(ctx context.Context, id string) (data []byte, ok bool, err error)

// Hub is the fan-out. Each subscriber has a bounded buffer; one that falls
// behind is dropped (its channel closed), so its client reconnects and
// reloads rather than slowing everyone.
type Hub struct {
	dsn     string
	channel string
	load    Loader
	logger  *slog.Logger
	buffer  int

	mu     sync.Mutex
	subs   map[chan Event]struct{}
	closed bool
}

// NewHub returns a hub that listens on channel through its own connection
// to dsn.
func NewHub(dsn, channel string, load Loader, logger *slog.Logger) *Hub {
	return &Hub{dsn: dsn, channel: channel, load: load, logger: logger, buffer: 64, subs: map[chan Event]struct{}{}}
}

// Subscribe returns a stream of events and a function that ends it. The
// channel is closed when the subscriber is dropped or ended.
func (h *Hub) Subscribe() (<-chan Event, func()) {
	ch := make(chan Event, h.buffer)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(ch)
		return ch, func() {}
	}
	h.subs[ch] = struct{}{}
	return ch, func() { h.drop(ch) }
}

// Close ends every stream and every later one at once, so that a server
// shutting down does not wait for clients that never hang up.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for ch := range h.subs {
		delete(h.subs, ch)
		close(ch)
	}
}

func (h *Hub) drop(ch chan Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

// Subscribers returns how many streams are open.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

func (h *Hub) broadcast(e Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- e:
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// Run listens until ctx ends. The listener reconnects by itself; after a
// reconnection every client is told to resync.
func (h *Hub) Run(ctx context.Context) error {
	l := pq.NewListener(h.dsn, 100*time.Millisecond, 10*time.Second, func(ev pq.ListenerEventType, err error) {
		switch ev {
		case pq.ListenerEventDisconnected:
			h.logger.Warn("live: lost the database connection", "err", err)
		case pq.ListenerEventReconnected:
			h.logger.Info("live: listening again")
		case pq.ListenerEventConnectionAttemptFailed:
			h.logger.Debug("live: reconnecting failed", "err", err)
		}
	})
	defer l.Close()
	if err := l.Listen(h.channel); err != nil {
		return err
	}
	ping := time.NewTicker(60 * time.Second)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			h.Close()
			return nil
		case <-ping.C:
			go l.Ping() //nolint:errcheck // a failed ping makes the listener reconnect
		case n := <-l.Notify:
			if n == nil {
				h.broadcast(Event{Name: "resync", Data: []byte("{}")})
				continue
			}
			data, ok, err := h.load(ctx, n.Extra)
			if err != nil {
				h.logger.Warn("live: loading a changed incident failed; clients resync", "incident", n.Extra, "err", err)
				h.broadcast(Event{Name: "resync", Data: []byte("{}")})
				continue
			}
			if ok {
				h.broadcast(Event{Name: "incident", Data: data})
			}
		}
	}
}
