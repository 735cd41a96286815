package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edgewatch/edgewatch/internal/amqpx"
)

// ErrUnavailable is returned by a publish while RabbitMQ cannot be reached
// (or does not confirm in time); the ingress answers 503 so senders retry.
var ErrUnavailable = errors.New("broker: RabbitMQ unavailable")

// errNacked is returned when RabbitMQ refuses a message (basic.nack).
var errNacked = errors.New("broker: RabbitMQ nacked the message")

// publisher keeps one channel in confirm mode and publishes on it. It mirrors
// the publish half of eventing-rabbitmq cmd/ingress/main.go (send) and
// pkg/dispatcher/dispatcher.go (sendToRabbitMQ): routing key "", not
// mandatory, wait for the confirm.
type publisher struct {
	conn    *amqpx.Conn
	timeout time.Duration
	log     *slog.Logger
	m       *metrics
	// declare runs on every new channel before it is used.
	declare func(*amqp.Channel) error

	mu sync.RWMutex
	ch *amqp.Channel
}

// run keeps a confirm channel open until ctx ends; ready is closed the first
// time one is usable.
func (p *publisher) run(ctx context.Context, ready chan<- struct{}) {
	readyOnce := sync.Once{}
	for ctx.Err() == nil {
		ch, err := p.conn.Channel(ctx)
		if err != nil {
			return
		}
		if err := p.setup(ch); err != nil {
			p.log.Warn("broker publisher channel setup failed", "error", err)
			_ = ch.Close()
			if !sleepCtx(ctx, 500*time.Millisecond) {
				return
			}
			continue
		}
		closed := ch.NotifyClose(make(chan *amqp.Error, 1))
		p.mu.Lock()
		p.ch = ch
		p.mu.Unlock()
		readyOnce.Do(func() { close(ready) })
		select {
		case <-ctx.Done():
		case err := <-closed:
			if err != nil {
				p.log.Warn("broker publisher channel closed", "error", err)
			}
		}
		p.mu.Lock()
		p.ch = nil
		p.mu.Unlock()
		_ = ch.Close()
	}
}

func (p *publisher) setup(ch *amqp.Channel) error {
	if err := ch.Confirm(false); err != nil {
		return fmt.Errorf("confirm mode: %w", err)
	}
	if p.declare != nil {
		return p.declare(ch)
	}
	return nil
}

// publish sends msg to exchange and waits for RabbitMQ's confirm. It fails
// fast with ErrUnavailable when there is no channel.
func (p *publisher) publish(ctx context.Context, exchange string, msg amqp.Publishing) error {
	p.mu.RLock()
	ch := p.ch
	p.mu.RUnlock()
	if ch == nil || ch.IsClosed() {
		return ErrUnavailable
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	start := time.Now()
	dc, err := ch.PublishWithDeferredConfirmWithContext(ctx, exchange, "", false, false, msg)
	if err != nil {
		if ch.IsClosed() || errors.Is(err, amqp.ErrClosed) {
			return fmt.Errorf("%w: %v", ErrUnavailable, err)
		}
		return fmt.Errorf("publish to %s: %w", exchange, err)
	}
	ack, err := dc.WaitContext(ctx)
	if err != nil {
		return fmt.Errorf("%w: no confirm within %v", ErrUnavailable, p.timeout)
	}
	p.m.publishDuration.Observe(time.Since(start).Seconds())
	if !ack {
		if ch.IsClosed() {
			return fmt.Errorf("%w: channel closed before the confirm", ErrUnavailable)
		}
		return errNacked
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
