package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/internal/localbroker"
	"github.com/edgewatch/edgewatch/internal/supervisor"
)

// A stop runs in stages, each bounded by a share of -stop-timeout; the
// functions' stage has what is left. Whatever a stage still waits for when
// its bound passes is killed, and the next stage begins.
const (
	// sourcesShare bounds motion-source's flush of the events it accepted.
	sourcesShare = 0.35
	// dispatchShare bounds the broker's deliveries in flight.
	dispatchShare = 0.35
	// stopMargin is kept between a function's own stop bound and the
	// runner's, so that it ends by itself rather than being killed.
	stopMargin = time.Second
)

// sourceStopBound is how long motion-source is given to flush (its
// STOP_TIMEOUT), inside its stage's bound.
func sourceStopBound(total time.Duration) time.Duration {
	return max(time.Duration(float64(total)*sourcesShare)-stopMargin, time.Duration(float64(total)*sourcesShare/2))
}

// dispatchBound is how long the broker's deliveries in flight may run after
// it stops consuming, inside their stage's bound.
func dispatchBound(total time.Duration) time.Duration {
	return max(time.Duration(float64(total)*dispatchShare)-stopMargin, time.Duration(float64(total)*dispatchShare/2))
}

// stop stops what start started, in reverse order of dependency, within
// -stop-timeout: sources first (motion-source stops reading and flushes
// what it accepted), then the broker's ingress closes for new events while
// its dispatchers finish the deliveries in flight, then the functions in
// parallel, then the broker's ingress, the stand-ins and the runner's own
// servers. Nothing new is started once it begins. When the timeout passes
// or force ends, what is left is killed, named in the log and the error.
func (r *runner) stop(force context.Context) error {
	began := time.Now()
	total := r.o.stopTimeout
	ctx, cancel := context.WithTimeoutCause(force, total, fmt.Errorf("the stop timeout (%v) passed", total))
	defer cancel()
	r.group.Close()
	r.up.summary(r.out)

	r.stage(ctx, "sources", names(r.sources), time.Duration(float64(total)*sourcesShare), r.stopUnits(r.sources))
	if r.broker != nil {
		r.stage(ctx, "broker dispatchers", []string{"deliveries in flight"}, time.Duration(float64(total)*dispatchShare),
			func(ctx context.Context) error {
				r.broker.CloseIngress()
				r.stopBroker()
				return r.broker.Drain(ctx)
			})
	}
	r.stage(ctx, "functions", names(r.functions), 0, r.stopUnits(r.functions))

	r.stopBroker()
	if r.broker != nil {
		_ = r.broker.Close()
	} else {
		localbroker.CloseListener(r.sink)
	}
	if r.metrics != nil {
		_ = r.metrics.Close()
	}
	if r.plan != nil {
		r.plan.close()
	}
	if r.o.teardown && r.broker != nil && ctx.Err() == nil {
		if err := r.broker.Teardown(ctx); err != nil {
			r.log.Error("teardown", "err", err)
		}
	}
	r.mu.Lock()
	killed := append(r.killed, r.group.Kill()...)
	r.mu.Unlock()
	if ctx.Err() != nil {
		cause := context.Cause(ctx)
		r.log.Warn("stop cut short; killed what was left", "cause", cause, "killed", strings.Join(killed, ", "), "took", since(began))
		return fmt.Errorf("stop cut short: %w", cause)
	}
	if len(killed) > 0 {
		r.log.Warn("killed processes left after the stop", "killed", strings.Join(killed, ", "))
	}
	r.log.Info("stopped", "took", since(began))
	return nil
}

// stage runs one step of the stop, bounded by bound (0: by ctx alone), and
// logs what it waits for and how it ended.
func (r *runner) stage(ctx context.Context, name string, waitFor []string, bound time.Duration, fn func(context.Context) error) {
	if len(waitFor) == 0 {
		return
	}
	if bound > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, bound)
		defer cancel()
	}
	began := time.Now()
	deadline, _ := ctx.Deadline()
	r.log.Info("stop: waiting", "stage", name, "for", strings.Join(waitFor, ", "), "at_most", time.Until(deadline).Round(time.Millisecond))
	if err := fn(ctx); err != nil {
		r.log.Warn("stop: stage cut short", "stage", name, "took", since(began), "err", err)
		return
	}
	r.log.Info("stop: stage done", "stage", name, "took", since(began))
}

// stopUnits stops units in parallel and records those it had to kill.
func (r *runner) stopUnits(units []unit) func(context.Context) error {
	return func(ctx context.Context) error {
		errs := make([]error, len(units))
		var wg sync.WaitGroup
		for i, u := range units {
			wg.Go(func() {
				pid := u.pid()
				err := u.stop(ctx)
				if err == nil {
					return
				}
				errs[i] = fmt.Errorf("%s: %w", u.name, err)
				if errors.Is(err, supervisor.ErrKilled) {
					r.mu.Lock()
					r.killed = append(r.killed, fmt.Sprintf("%s (pid %d)", u.name, pid))
					r.mu.Unlock()
				}
			})
		}
		wg.Wait()
		return errors.Join(errs...)
	}
}

func names(units []unit) []string {
	out := make([]string, len(units))
	for i, u := range units {
		out[i] = u.name
	}
	return out
}

func since(t time.Time) time.Duration { return time.Since(t).Round(time.Millisecond) }
