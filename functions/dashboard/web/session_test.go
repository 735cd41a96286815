package web

import (
	"net/http/httptest"
	"testing"
	"time"
)

// clock is a settable time for the expiry rules.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestSessionsExpireWhenIdleAndAtTheirMaximum(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	s := NewSessions(SessionConfig{Idle: 10 * time.Minute, Max: time.Hour}, c.now)
	idle, err := s.Create()
	if err != nil {
		t.Fatal(err)
	}
	busy, _ := s.Create()
	for i := 0; i < 5; i++ { // busy is used every 9 min, idle never
		c.t = c.t.Add(9 * time.Minute)
		if !s.Valid(busy) {
			t.Fatalf("a session used every 9 min ended after %d uses", i)
		}
	}
	if s.Valid(idle) {
		t.Fatal("a session unused for 45 min is still valid with a 10 min idle limit")
	}
	c.t = c.t.Add(9 * time.Minute) // 54 min
	if !s.Valid(busy) {
		t.Fatal("busy session ended before its maximum")
	}
	c.t = c.t.Add(6 * time.Minute) // 60 min
	if s.Valid(busy) || s.Len() != 0 {
		t.Fatalf("a session lived past its 1 h maximum (%d held)", s.Len())
	}
}

func TestSessionIDsAreRandomAndRevocable(t *testing.T) {
	s := NewSessions(SessionConfig{Capacity: 3}, nil)
	seen := map[string]bool{}
	var ids []string
	for i := 0; i < 200; i++ {
		id, err := s.Create()
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != 43 || seen[id] {
			t.Fatalf("session id %q: want 43 base64url characters (256 bits), never repeated", id)
		}
		seen[id] = true
		ids = append(ids, id)
	}
	if s.Len() != 3 || s.Valid(ids[0]) || !s.Valid(ids[199]) {
		t.Fatalf("%d sessions held with a capacity of 3; the least recently used must go", s.Len())
	}
	s.Revoke(ids[199])
	if s.Valid(ids[199]) || s.Valid("") || s.Valid(ids[199]+"x") {
		t.Fatal("a revoked, empty or altered id is valid")
	}
}

func TestLimiterRefusesAClientAfterItsFailuresOnly(t *testing.T) {
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	l := NewLimiter(LimitConfig{Failures: 3, Window: time.Minute}, c.now)
	for i := 0; i < 3; i++ {
		if _, blocked := l.Blocked("a"); blocked {
			t.Fatalf("blocked after %d failures", i)
		}
		if _, over := l.Fail("a"); over {
			t.Fatalf("failure %d is past a limit of 3", i+1)
		}
		c.t = c.t.Add(10 * time.Second)
	}
	if wait, over := l.Fail("a"); !over || wait != 30*time.Second {
		t.Fatalf("the 4th failure: over %v, %v left", over, wait)
	}
	wait, blocked := l.Blocked("a")
	if !blocked || wait != 30*time.Second {
		t.Fatalf("after 3 failures: blocked %v for %v; want 30 s left of the minute", blocked, wait)
	}
	if _, blocked := l.Blocked("b"); blocked {
		t.Fatal("another client is blocked")
	}
	c.t = c.t.Add(30 * time.Second)
	if _, blocked := l.Blocked("a"); blocked {
		t.Fatal("still blocked after the window")
	}
	l.Fail("a")
	l.Fail("a")
	l.Succeed("a")
	l.Fail("a")
	if _, blocked := l.Blocked("a"); blocked {
		t.Fatal("a right login did not clear the failures")
	}
}

func TestLimiterClientBehindTrustedProxies(t *testing.T) {
	r := httptest.NewRequest("GET", "/", nil)
	r.RemoteAddr = "10.0.0.9:4000"
	r.Header.Add("X-Forwarded-For", "6.6.6.6, 203.0.113.7")
	r.Header.Add("X-Forwarded-For", "10.0.0.2")
	for hops, want := range map[int]string{0: "10.0.0.9", 1: "10.0.0.2", 2: "203.0.113.7", 3: "6.6.6.6", 4: "10.0.0.9"} {
		if got := NewLimiter(LimitConfig{TrustedHops: hops}, nil).Client(r); got != want {
			t.Errorf("%d trusted proxies: client %q, want %q", hops, got, want)
		}
	}
}
