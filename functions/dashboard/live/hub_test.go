package live

import (
	"log/slog"
	"testing"
)

func TestSlowSubscriberIsDroppedOthersKeepGoing(t *testing.T) {
	h := NewHub("", "c", nil, slog.New(slog.DiscardHandler))
	h.buffer = 2
	slow, _ := h.Subscribe()
	fast, done := h.Subscribe()
	defer done()
	for i := range 3 {
		h.broadcast(Event{Name: "incident", Data: []byte{byte('0' + i)}})
		<-fast
	}
	// The slow one got two events, then was dropped: its channel closes
	// after them.
	n := 0
	for range slow {
		n++
	}
	if n != 2 || h.Subscribers() != 1 {
		t.Fatalf("slow subscriber got %d events; %d subscribers left", n, h.Subscribers())
	}
}

func TestEndingTwiceIsSafe(t *testing.T) {
	h := NewHub("", "c", nil, slog.New(slog.DiscardHandler))
	_, done := h.Subscribe()
	done()
	done()
	if h.Subscribers() != 0 {
		t.Fatal("subscriber not removed")
	}
}

func TestCloseEndsStreamsNowAndLater(t *testing.T) {
	h := NewHub("", "c", nil, slog.New(slog.DiscardHandler))
	before, _ := h.Subscribe()
	h.Close()
	after, _ := h.Subscribe()
	if _, ok := <-before; ok {
		t.Fatal("an open stream survived Close")
	}
	if _, ok := <-after; ok {
		t.Fatal("a stream opened after Close")
	}
}
