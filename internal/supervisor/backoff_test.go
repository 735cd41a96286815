package supervisor

import (
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestBackoffDoublesWhileCrashingAndResetsAfterHealthyInterval(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	b := newBackoff(minRestartDelay, maxRestartDelay, time.Minute, clock.now)

	// A crash loop: each start dies after a second.
	want := []time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second,
		8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second}
	for i, w := range want {
		clock.advance(time.Second)
		d := b.next()
		if d != w {
			t.Fatalf("crash %d in a row: delay %v, want %v", i+1, d, w)
		}
		clock.advance(d)
		b.started()
	}

	// Just short of the healthy interval the loop goes on at the maximum.
	clock.advance(time.Minute - time.Nanosecond)
	if d := b.next(); d != maxRestartDelay {
		t.Fatalf("crash before the healthy interval: delay %v, want %v", d, maxRestartDelay)
	}
	clock.advance(maxRestartDelay)
	b.started()

	// A minute up: the next crash restarts after the shortest delay again,
	// and a new loop doubles from there.
	clock.advance(time.Minute)
	if d := b.next(); d != minRestartDelay {
		t.Fatalf("crash after a healthy minute: delay %v, want %v", d, minRestartDelay)
	}
	b.started()
	clock.advance(time.Second)
	if d := b.next(); d != 2*minRestartDelay {
		t.Fatalf("second crash of a new loop: delay %v, want %v", d, 2*minRestartDelay)
	}
}
