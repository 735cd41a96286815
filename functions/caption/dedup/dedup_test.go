package dedup

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func TestConcurrentCallersShareOneCall(t *testing.T) {
	g := New[int](8, time.Minute, nil)
	var calls atomic.Int32
	gate := make(chan struct{})
	fn := func(context.Context) (int, error) {
		calls.Add(1)
		<-gate
		return 42, nil
	}
	const n = 50
	srcs := make([]Source, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, src, err := g.Do(context.Background(), context.Background(), "k", fn)
			if v != 42 || err != nil {
				t.Errorf("got %d, %v", v, err)
			}
			srcs[i] = src
		}()
	}
	for g.Callers("k") < n {
		time.Sleep(time.Millisecond)
	}
	close(gate)
	wg.Wait()
	if calls.Load() != 1 {
		t.Fatalf("%d calls", calls.Load())
	}
	count := map[Source]int{}
	for _, s := range srcs {
		count[s]++
	}
	if count[Called] != 1 || count[Shared] != n-1 {
		t.Errorf("sources %v", count)
	}
	if _, src, _ := g.Do(context.Background(), context.Background(), "k", fn); src != Cached {
		t.Errorf("later caller: %v", src)
	}
	if g.Callers("k") != 0 {
		t.Errorf("call still in flight")
	}
}

func TestFailuresAreNotRemembered(t *testing.T) {
	g := New[string](8, time.Minute, nil)
	boom := errors.New("boom")
	if _, _, err := g.Do(context.Background(), context.Background(), "k", func(context.Context) (string, error) { return "", boom }); !errors.Is(err, boom) {
		t.Fatalf("err %v", err)
	}
	v, src, err := g.Do(context.Background(), context.Background(), "k", func(context.Context) (string, error) { return "ok", nil })
	if v != "ok" || src != Called || err != nil {
		t.Fatalf("after a failure: %q %v %v", v, src, err)
	}
}

func TestEntriesExpire(t *testing.T) {
	c := &clock{t: time.Unix(1000, 0)}
	g := New[int](8, time.Minute, c.now)
	n := 0
	fn := func(context.Context) (int, error) { n++; return n, nil }
	g.Do(context.Background(), context.Background(), "k", fn)
	c.advance(59 * time.Second)
	if v, src, _ := g.Do(context.Background(), context.Background(), "k", fn); v != 1 || src != Cached {
		t.Fatalf("before expiry: %d %v", v, src)
	}
	c.advance(time.Second)
	if v, src, _ := g.Do(context.Background(), context.Background(), "k", fn); v != 2 || src != Called {
		t.Fatalf("after expiry: %d %v", v, src)
	}
}

func TestLeastRecentlyUsedGoesFirst(t *testing.T) {
	g := New[string](2, time.Hour, nil)
	calls := map[string]int{}
	do := func(k string) Source {
		_, src, _ := g.Do(context.Background(), context.Background(), k, func(context.Context) (string, error) {
			calls[k]++
			return k, nil
		})
		return src
	}
	do("a")
	do("b")
	do("a") // a is now the most recently used
	do("c") // pushes out b
	if g.Len() != 2 {
		t.Fatalf("Len %d", g.Len())
	}
	if do("a") != Cached || do("c") != Cached {
		t.Errorf("a or c was pushed out")
	}
	if do("b") != Called || calls["b"] != 2 {
		t.Errorf("b was not pushed out")
	}
}

func TestCallerGivingUpDoesNotCancelTheCall(t *testing.T) {
	g := New[int](8, time.Minute, nil)
	gate := make(chan struct{})
	var callErr atomic.Value
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _, err := g.Do(ctx, context.Background(), "k", func(c context.Context) (int, error) {
			<-gate
			if c.Err() != nil {
				callErr.Store(c.Err())
			}
			return 7, nil
		})
		if !errors.Is(err, context.Canceled) {
			t.Errorf("caller that gave up got %v", err)
		}
	}()
	for g.Callers("k") < 1 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	<-done
	close(gate)
	for g.Callers("k") != 0 {
		time.Sleep(time.Millisecond)
	}
	if callErr.Load() != nil {
		t.Errorf("the call saw its context cancelled")
	}
	if v, src, _ := g.Do(context.Background(), context.Background(), "k", nil); v != 7 || src != Cached {
		t.Errorf("result lost: %d %v", v, src)
	}
}

func TestPanicBecomesError(t *testing.T) {
	g := New[int](8, time.Minute, nil)
	_, _, err := g.Do(context.Background(), context.Background(), "k", func(context.Context) (int, error) { panic("bad") })
	if err == nil {
		t.Fatal("no error from a panicking call")
	}
}
