// Package dedup runs a function at most once per key at a time and remembers
// its successful results for a while: callers that arrive while a call for
// their key is in flight wait for that call and share its result, and callers
// that arrive after it succeeded get the remembered result, from a cache
// bounded in size (least recently used entries go first) and in age. Failed
// calls are not remembered, so the next caller tries again.
package dedup

import (
	"container/list"
	"context"
	"fmt"
	"sync"
	"time"
)

// Source says where a caller's result came from.
type Source int

const (
	// Called means this caller ran the function.
	Called Source = iota
	// Shared means this caller waited for a call already in flight.
	Shared
	// Cached means the result was remembered from an earlier call.
	Cached
)

// String names the source, for logs and metric labels.
func (s Source) String() string {
	switch s {
	case Called:
		return "called"
	case Shared:
		return "shared"
	case Cached:
		return "cached"
	}
	return "unknown"
}

// Group deduplicates calls by key. Its zero value is not usable; call New.
type Group[V any] struct {
	size int
	ttl  time.Duration
	now  func() time.Time

	mu       sync.Mutex
	inflight map[string]*call[V]
	entries  map[string]*list.Element
	lru      *list.List // front = most recently used; values are *entry[V]
}

type call[V any] struct {
	done    chan struct{}
	callers int // callers waiting or having waited on it; guarded by Group.mu
	val     V
	err     error
}

type entry[V any] struct {
	key     string
	val     V
	expires time.Time
}

// New returns a group that remembers up to size results (at least 1) for ttl
// each. now tells the time; nil means time.Now.
func New[V any](size int, ttl time.Duration, now func() time.Time) *Group[V] {
	if size < 1 {
		size = 1
	}
	if now == nil {
		now = time.Now
	}
	return &Group[V]{
		size: size, ttl: ttl, now: now,
		inflight: map[string]*call[V]{},
		entries:  map[string]*list.Element{},
		lru:      list.New(),
	}
}

// Do returns the result for key: a remembered one, the one of a call in
// flight, or that of a new call of fn. fn runs in its own goroutine with
// callCtx, not with ctx, so a caller that gives up (ctx done: Do returns
// ctx's error) neither cancels the call for the others nor loses its result;
// callCtx should carry its own deadline.
func (g *Group[V]) Do(ctx, callCtx context.Context, key string, fn func(context.Context) (V, error)) (V, Source, error) {
	g.mu.Lock()
	if v, ok := g.lookup(key); ok {
		g.mu.Unlock()
		return v, Cached, nil
	}
	c, shared := g.inflight[key]
	if !shared {
		c = &call[V]{done: make(chan struct{})}
		g.inflight[key] = c
		go g.run(callCtx, key, c, fn)
	}
	c.callers++
	g.mu.Unlock()

	src := Called
	if shared {
		src = Shared
	}
	select {
	case <-c.done:
		return c.val, src, c.err
	case <-ctx.Done():
		var zero V
		return zero, src, ctx.Err()
	}
}

func (g *Group[V]) run(ctx context.Context, key string, c *call[V], fn func(context.Context) (V, error)) {
	func() {
		defer func() {
			if r := recover(); r != nil {
				c.err = fmt.Errorf("dedup: call for %q panicked: %v", key, r)
			}
		}()
		c.val, c.err = fn(ctx)
	}()
	g.mu.Lock()
	delete(g.inflight, key)
	if c.err == nil {
		g.store(key, c.val)
	}
	g.mu.Unlock()
	close(c.done)
}

// Callers returns how many callers have joined the call in flight for key,
// the one that started it included; 0 when no call for key is in flight.
func (g *Group[V]) Callers(key string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	if c, ok := g.inflight[key]; ok {
		return c.callers
	}
	return 0
}

// Len returns how many results are remembered (expired ones included until
// they are looked up or pushed out).
func (g *Group[V]) Len() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.lru.Len()
}

// lookup returns a live remembered result and marks it recently used. The
// caller holds g.mu.
func (g *Group[V]) lookup(key string) (V, bool) {
	var zero V
	el, ok := g.entries[key]
	if !ok {
		return zero, false
	}
	e := el.Value.(*entry[V])
	if !g.now().Before(e.expires) {
		g.lru.Remove(el)
		delete(g.entries, key)
		return zero, false
	}
	g.lru.MoveToFront(el)
	return e.val, true
}

// store remembers a result, pushing out the least recently used one when
// full. The caller holds g.mu.
func (g *Group[V]) store(key string, v V) {
	expires := g.now().Add(g.ttl)
	if el, ok := g.entries[key]; ok {
		e := el.Value.(*entry[V])
		e.val, e.expires = v, expires
		g.lru.MoveToFront(el)
		return
	}
	g.entries[key] = g.lru.PushFront(&entry[V]{key: key, val: v, expires: expires})
	for g.lru.Len() > g.size {
		oldest := g.lru.Back()
		g.lru.Remove(oldest)
		delete(g.entries, oldest.Value.(*entry[V]).key)
	}
}
