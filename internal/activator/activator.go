// Package activator gives a local function Knative's scale-to-zero
// behaviour: requests arrive at the activator's address, the function's
// process is started on the first one and held requests are proxied once it
// is ready, and the process is stopped again after an idle period.
package activator

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"
)

// Backend is the scaled process: the activator starts it, waits for it and
// stops it. *supervisor.Process satisfies it.
type Backend interface {
	Start(ctx context.Context) error
	WaitReady(ctx context.Context) error
	Stop() error
	Running() bool
}

// Config configures an Activator.
type Config struct {
	// Target is the backend's own address.
	Target *url.URL
	// Backend is the process behind Target.
	Backend Backend
	// IdleTimeout stops the backend after this long without requests
	// (Knative's stable window plus scale-to-zero grace period). Zero never stops it.
	IdleTimeout time.Duration
	// StartTimeout bounds how long a request waits for a cold start.
	StartTimeout time.Duration
	// Logger receives scale events.
	Logger *slog.Logger
	// OnScale, when set, is called with 1 after a cold start completes and 0
	// after a scale to zero, with the cold start's duration.
	OnScale func(replicas int, coldStart time.Duration)
}

// Activator is an http.Handler that scales its backend between zero and one.
type Activator struct {
	cfg   Config
	proxy *httputil.ReverseProxy

	mu       sync.Mutex
	starting chan struct{}
	startErr error
	inFlight int
	lastSeen time.Time
}

// New returns an Activator. Call Run to enable scaling to zero.
func New(cfg Config) *Activator {
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 2 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Activator{cfg: cfg, proxy: httputil.NewSingleHostReverseProxy(cfg.Target)}
}

// ServeHTTP holds the request until the backend is ready, then proxies it.
func (a *Activator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	a.inFlight++
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.inFlight--
		a.lastSeen = time.Now()
		a.mu.Unlock()
	}()
	if err := a.ensureRunning(r.Context()); err != nil {
		a.cfg.Logger.Error("cold start failed", "err", err)
		http.Error(w, "activator: backend not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	a.proxy.ServeHTTP(w, r)
}

// errScaledDown tells requests that waited on a scale-down to try again.
var errScaledDown = errors.New("scaled down")

// ensureRunning starts the backend if it is not running; concurrent callers
// wait for the same start, and callers that arrive during a scale-down wait
// for it to finish and then start the backend again.
func (a *Activator) ensureRunning(ctx context.Context) error {
	for {
		a.mu.Lock()
		if a.starting == nil && a.cfg.Backend.Running() {
			a.mu.Unlock()
			return nil
		}
		if a.starting == nil {
			a.starting = make(chan struct{})
			// Every request that arrives meanwhile waits for this one start, so it must
			// outlive the request that began it: its values, not its cancellation.
			go a.coldStart(context.WithoutCancel(ctx), a.starting)
		}
		starting := a.starting
		a.mu.Unlock()
		select {
		case <-starting:
		case <-ctx.Done():
			return ctx.Err()
		}
		a.mu.Lock()
		err := a.startErr
		a.mu.Unlock()
		if !errors.Is(err, errScaledDown) {
			return err
		}
	}
}

// coldStart starts the backend under base, which the backend's supervision keeps,
// waits up to StartTimeout for it to be ready, and then releases the waiters on done.
func (a *Activator) coldStart(base context.Context, done chan struct{}) {
	begin := time.Now()
	ctx, cancel := context.WithTimeout(base, a.cfg.StartTimeout)
	defer cancel()
	err := a.cfg.Backend.Start(base)
	if err == nil {
		err = a.cfg.Backend.WaitReady(ctx)
	}
	took := time.Since(begin)
	a.mu.Lock()
	a.startErr = err
	a.starting = nil
	a.lastSeen = time.Now()
	a.mu.Unlock()
	close(done)
	if err != nil {
		_ = a.cfg.Backend.Stop()
		return
	}
	a.cfg.Logger.Info("scaled from zero", "cold_start", took)
	if a.cfg.OnScale != nil {
		a.cfg.OnScale(1, took)
	}
}

// Run stops the backend whenever it has been idle for IdleTimeout, until
// ctx ends; then it stops the backend.
func (a *Activator) Run(ctx context.Context) {
	defer a.cfg.Backend.Stop()
	if a.cfg.IdleTimeout <= 0 {
		<-ctx.Done()
		return
	}
	tick := time.NewTicker(a.cfg.IdleTimeout / 4)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			a.scaleToZeroIfIdle()
		}
	}
}

func (a *Activator) scaleToZeroIfIdle() {
	a.mu.Lock()
	idle := a.inFlight == 0 && a.starting == nil && time.Since(a.lastSeen) >= a.cfg.IdleTimeout
	if !idle || !a.cfg.Backend.Running() {
		a.mu.Unlock()
		return
	}
	// Requests that arrive while the backend stops wait on this channel and
	// then start it again.
	stopping := make(chan struct{})
	a.starting = stopping
	a.mu.Unlock()
	a.cfg.Logger.Info("scaling to zero", "idle", a.cfg.IdleTimeout)
	_ = a.cfg.Backend.Stop()
	a.mu.Lock()
	a.starting, a.startErr = nil, errScaledDown
	a.mu.Unlock()
	close(stopping)
	if a.cfg.OnScale != nil {
		a.cfg.OnScale(0, 0)
	}
}
