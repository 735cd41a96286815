// Package batch is a dynamic batcher: concurrent callers each submit one
// item, and the batcher runs the items that arrive close together as one
// call of a batch function — for detect, one DNN forward pass over many
// images.
//
// Rules: the first item of a batch waits at most Window for company (an
// item that already waited that long behind a running batch goes at once);
// a batch closes early when it reaches Max items; one batch runs at a time,
// so the batch function never runs concurrently with itself.
package batch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// ErrClosed is returned by Do after Close.
var ErrClosed = errors.New("batch: batcher closed")

// Options configure a Batcher.
type Options struct {
	// Window is how long the first item of a batch may wait for more.
	// Zero runs whatever is waiting at once.
	Window time.Duration
	// Max is the largest batch (at least 1).
	Max int
	// Observe, if set, is called after every batch with its size, how long
	// the batch function took and its error.
	Observe func(size int, took time.Duration, err error)
}

// Func processes a batch: it gets the items in arrival order and must
// return one result per item, in the same order.
type Func[In, Out any] func(items []In) ([]Out, error)

type result[Out any] struct {
	out Out
	err error
}

type request[In, Out any] struct {
	in      In
	arrived time.Time
	res     chan result[Out]
}

// Batcher groups concurrent Do calls into batches.
type Batcher[In, Out any] struct {
	run     Func[In, Out]
	opts    Options
	reqs    chan request[In, Out]
	quit    chan struct{}
	done    chan struct{}
	closing sync.Once
}

// New starts a batcher that runs batches with run.
func New[In, Out any](run Func[In, Out], opts Options) (*Batcher[In, Out], error) {
	if opts.Max < 1 {
		return nil, fmt.Errorf("batch: max %d < 1", opts.Max)
	}
	if opts.Window < 0 {
		return nil, fmt.Errorf("batch: negative window %v", opts.Window)
	}
	b := &Batcher[In, Out]{
		run:  run,
		opts: opts,
		reqs: make(chan request[In, Out]),
		quit: make(chan struct{}),
		done: make(chan struct{}),
	}
	go b.loop()
	return b, nil
}

// Do submits one item and waits for its result. ctx bounds the wait for a
// place in a batch; once the item is in a batch, Do waits for that batch to
// finish (a forward pass cannot be abandoned half-way, and the item must
// stay valid until it has), so the caller may release the item when Do
// returns.
func (b *Batcher[In, Out]) Do(ctx context.Context, in In) (Out, error) {
	req := request[In, Out]{in: in, arrived: time.Now(), res: make(chan result[Out], 1)}
	var zero Out
	select {
	case b.reqs <- req:
	case <-ctx.Done():
		return zero, ctx.Err()
	case <-b.quit:
		return zero, ErrClosed
	}
	r := <-req.res
	return r.out, r.err
}

// Close stops the batcher after the batch in progress; later Do calls
// return ErrClosed.
func (b *Batcher[In, Out]) Close() {
	b.closing.Do(func() { close(b.quit) })
	<-b.done
}

func (b *Batcher[In, Out]) loop() {
	defer close(b.done)
	for {
		var batch []request[In, Out]
		select {
		case r := <-b.reqs:
			batch = append(batch, r)
		case <-b.quit:
			return
		}
		batch = b.fill(batch)
		b.execute(batch)
	}
}

// fill adds items until the batch is full or the first item's window is
// over.
func (b *Batcher[In, Out]) fill(batch []request[In, Out]) []request[In, Out] {
	deadline := batch[0].arrived.Add(b.opts.Window)
	var timer *time.Timer
	for len(batch) < b.opts.Max {
		wait := time.Until(deadline)
		if wait <= 0 {
			// Out of time: take only what is already waiting.
			select {
			case r := <-b.reqs:
				batch = append(batch, r)
				continue
			default:
				return batch
			}
		}
		if timer == nil {
			timer = time.NewTimer(wait)
			defer timer.Stop()
		}
		select {
		case r := <-b.reqs:
			batch = append(batch, r)
		case <-timer.C:
			deadline = time.Time{}
		case <-b.quit:
			return batch
		}
	}
	return batch
}

func (b *Batcher[In, Out]) execute(batch []request[In, Out]) {
	items := make([]In, len(batch))
	for i, r := range batch {
		items[i] = r.in
	}
	start := time.Now()
	outs, err := b.call(items)
	if err == nil && len(outs) != len(items) {
		err = fmt.Errorf("batch: function returned %d results for %d items", len(outs), len(items))
	}
	if b.opts.Observe != nil {
		b.opts.Observe(len(items), time.Since(start), err)
	}
	for i, r := range batch {
		if err != nil {
			r.res <- result[Out]{err: err}
			continue
		}
		r.res <- result[Out]{out: outs[i]}
	}
}

// call runs the batch function, turning a panic into an error so one bad
// batch cannot take the process down.
func (b *Batcher[In, Out]) call(items []In) (outs []Out, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("batch: batch function panicked: %v", p)
		}
	}()
	return b.run(items)
}
