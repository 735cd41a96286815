package activator

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// serverBackend is a real HTTP server that takes a while to start, standing
// in for a function process.
type serverBackend struct {
	addr  string
	delay time.Duration

	mu       sync.Mutex
	srv      *http.Server
	startCtx context.Context
	starts   atomic.Int32
	served   atomic.Int32
}

func (b *serverBackend) Start(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.starts.Add(1)
	b.startCtx = ctx
	ln, err := net.Listen("tcp", b.addr)
	if err != nil {
		return err
	}
	b.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.served.Add(1)
		fmt.Fprint(w, "hello")
	})}
	go func(srv *http.Server) {
		time.Sleep(b.delay) // a slow model load
		_ = srv.Serve(ln)
	}(b.srv)
	return nil
}

func (b *serverBackend) WaitReady(ctx context.Context) error {
	for {
		resp, err := http.Get("http://" + b.addr + "/")
		if err == nil {
			resp.Body.Close()
			b.served.Add(-1) // the probe is not a request
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(10 * time.Millisecond):
		}
	}
}

func (b *serverBackend) Stop() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srv == nil {
		return nil
	}
	err := b.srv.Close()
	b.srv = nil
	return err
}

func (b *serverBackend) Running() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.srv != nil
}

func (b *serverBackend) startContext() context.Context {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.startCtx
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func TestColdStartHoldsRequestsAndScalesToZero(t *testing.T) {
	b := &serverBackend{addr: freeAddr(t), delay: 300 * time.Millisecond}
	target, _ := url.Parse("http://" + b.addr)
	var scaleEvents atomic.Int32
	a := New(Config{Target: target, Backend: b, IdleTimeout: 200 * time.Millisecond,
		OnScale: func(int, time.Duration) { scaleEvents.Add(1) }})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Run(ctx)

	front := &http.Server{Handler: a}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = front.Serve(ln) }()
	defer front.Close()

	// Ten requests arrive while the backend is at zero: all are held and served, one start.
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get("http://" + ln.Addr().String() + "/")
			if err != nil {
				errs <- err
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(body) != "hello" {
				errs <- fmt.Errorf("status %d body %q", resp.StatusCode, body)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := b.starts.Load(); got != 1 {
		t.Fatalf("want one cold start, got %d", got)
	}
	if got := b.served.Load(); got != 10 {
		t.Fatalf("backend served %d of 10 held requests", got)
	}

	// Idle: it scales to zero, and the next request starts it again.
	deadline := time.Now().Add(5 * time.Second)
	for b.Running() {
		if time.Now().After(deadline) {
			t.Fatal("backend did not scale to zero when idle")
		}
		time.Sleep(20 * time.Millisecond)
	}
	resp, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || b.starts.Load() != 2 {
		t.Fatalf("after scale to zero: status %d, starts %d", resp.StatusCode, b.starts.Load())
	}
	if scaleEvents.Load() < 3 {
		t.Fatalf("want up, down, up scale events, got %d", scaleEvents.Load())
	}
}

// TestColdStartOutlivesTheRequestThatBeganIt cancels the request that set off a cold start
// while it waits: the start goes on for the requests behind it, under a context that the
// cancellation does not reach.
func TestColdStartOutlivesTheRequestThatBeganIt(t *testing.T) {
	b := &serverBackend{addr: freeAddr(t), delay: 200 * time.Millisecond}
	defer b.Stop()
	target, _ := url.Parse("http://" + b.addr)
	a := New(Config{Target: target, Backend: b, StartTimeout: 30 * time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	first := make(chan int, 1)
	go func() {
		rec := &recorder{header: http.Header{}}
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "/", nil)
		a.ServeHTTP(rec, req)
		first <- rec.code
	}()
	for b.starts.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if code := <-first; code != http.StatusServiceUnavailable {
		t.Fatalf("the cancelled request got %d, want 503", code)
	}
	rec := &recorder{header: http.Header{}}
	req, _ := http.NewRequest(http.MethodPost, "/", nil)
	a.ServeHTTP(rec, req)
	if rec.code != http.StatusOK {
		t.Fatalf("the request behind it got %d, want 200", rec.code)
	}
	if n := b.starts.Load(); n != 1 {
		t.Errorf("the backend started %d times, want once", n)
	}
	if err := b.startContext().Err(); err != nil {
		t.Errorf("the backend's context ended with the first request: %v", err)
	}
}

func TestFailedColdStartAnswers503(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	// The backend cannot listen on an address that is taken.
	b := &serverBackend{addr: busy.Addr().String()}
	target, _ := url.Parse("http://" + b.addr)
	a := New(Config{Target: target, Backend: b, StartTimeout: time.Second})
	rec := &recorder{header: http.Header{}}
	req, _ := http.NewRequest(http.MethodPost, "/", nil)
	a.ServeHTTP(rec, req)
	if rec.code != http.StatusServiceUnavailable {
		t.Fatalf("want 503, got %d", rec.code)
	}
}

type recorder struct {
	header http.Header
	code   int
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *recorder) WriteHeader(code int)        { r.code = code }
