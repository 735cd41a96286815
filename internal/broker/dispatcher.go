package broker

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edgewatch/edgewatch/internal/amqpx"
	"github.com/edgewatch/edgewatch/internal/triggers"
)

// Prefetch is how many unacknowledged messages a dispatcher holds, whatever
// its parallelism (eventing-rabbitmq pkg/rabbit/connections_handler.go
// ChannelQoS).
const Prefetch = 100

// dispatcher consumes one queue and delivers its events over HTTP. A
// subscriber dispatcher mirrors eventing-rabbitmq pkg/dispatcher/dispatcher.go
// (ConsumeFromQueue and dispatch); a dead-letter dispatcher mirrors its
// dispatchDLQ, except that an event the dead-letter sink does not take is
// requeued after a pause instead of dropped.
type dispatcher struct {
	trigger string // Trigger name, the metric label
	stage   string // stageSubscriber or stageDeadLetterSink
	queue   string
	target  string // subscriber or dead-letter sink URL
	// deadLetterExchange receives failed events (subscriber stage only).
	deadLetterExchange string
	ingressURL         string
	// replyToken marks the replies forwarded to ingressURL as this broker's own.
	replyToken string
	// replyFrom names the target's function: the sender of the replies it
	// answers with, as a Trigger's OIDC identity is on a cluster.
	replyFrom     string
	policy        triggers.RetryPolicy
	workers       int
	requeueDelay  time.Duration
	maxReplyBytes int64

	conn    *amqpx.Conn
	declare func(*amqp.Channel) error
	pub     *publisher
	client  *http.Client
	log     *slog.Logger
	m       *metrics
}

// run consumes until ctx ends, reopening the channel after it is lost.
// Deliveries run under work, which outlives ctx for a grace period so that
// in-flight attempts can finish.
func (d *dispatcher) run(ctx, work context.Context) {
	wait := 200 * time.Millisecond
	for ctx.Err() == nil {
		began := time.Now()
		err := d.session(ctx, work)
		if ctx.Err() != nil {
			return
		}
		if time.Since(began) > time.Minute {
			wait = 200 * time.Millisecond // it ran well for a while: start over
		}
		d.log.Warn("dispatcher lost its channel; resubscribing", "trigger", d.trigger, "stage", d.stage, "error", err, "retry_in", wait)
		if !sleepCtx(ctx, wait) {
			return
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// session consumes on one channel until ctx ends or the channel closes.
func (d *dispatcher) session(ctx, work context.Context) error {
	ch, err := d.conn.Channel(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = ch.Close() }()
	if err := d.declare(ch); err != nil {
		return err
	}
	if err := ch.Qos(Prefetch, 0, false); err != nil {
		return fmt.Errorf("qos: %w", err)
	}
	tag := consumerTag(d.trigger, d.stage)
	deliveries, err := ch.Consume(d.queue, tag, false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", d.queue, err)
	}
	closed := ch.NotifyClose(make(chan *amqp.Error, 1))
	d.log.Info("dispatcher consuming", "trigger", d.trigger, "stage", d.stage, "queue", d.queue, "target", d.target, "workers", d.workers)

	var wg sync.WaitGroup
	for range d.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for msg := range deliveries {
				if ctx.Err() != nil {
					// Stopping: hand back what was prefetched but not started.
					_ = msg.Nack(false, true)
					continue
				}
				d.handle(ctx, work, msg)
			}
		}()
	}
	select {
	case <-ctx.Done():
		// Stop consuming, let the workers finish what they hold, then close.
		_ = ch.Cancel(tag, false)
		wg.Wait()
		return nil
	case err := <-closed:
		wg.Wait()
		if err == nil {
			return amqp.ErrClosed
		}
		return err
	}
}

func consumerTag(trigger, stage string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("edgewatch.%s.%s.%s", trigger, stage, hex.EncodeToString(b[:]))
}

// result is the outcome of delivering one event with retries.
type result struct {
	status      int          // last HTTP status, -1 for a network error
	ok          bool         // success: 2xx or a non-retryable status
	reply       *event.Event // the response's event, if any
	replyErr    error        // the response's event could not be taken (too large)
	interrupted bool         // the broker stopped during a backoff
	err         error
}

// handle processes one message to a final ack or nack.
func (d *dispatcher) handle(ctx, work context.Context, msg amqp.Delivery) {
	start := time.Now()
	ev, tp, ts, err := fromDelivery(work, &msg)
	if err != nil {
		// Mirrors upstream: an unparsable message can never be delivered,
		// so it is acked (and counted here).
		d.m.unparsable.WithLabelValues(d.trigger).Inc()
		d.log.Warn("dropping a queue message that is not a CloudEvent", "trigger", d.trigger, "stage", d.stage, "message_id", msg.MessageId, "error", err)
		_ = msg.Ack(false)
		return
	}
	outcome := d.process(ctx, work, ev, tp, ts, msg)
	d.m.outcomes.WithLabelValues(d.trigger, d.stage, outcome).Inc()
	d.m.dispatchLatency.WithLabelValues(d.trigger, d.stage).Observe(time.Since(start).Seconds())
}

func (d *dispatcher) process(ctx, work context.Context, ev *event.Event, tp, ts string, msg amqp.Delivery) string {
	res := d.deliver(ctx, work, d.target, ev, tp, ts)
	if res.interrupted {
		_ = msg.Nack(false, true)
		return outcomeRequeued
	}
	if !res.ok {
		d.log.Warn("delivery failed for good", "trigger", d.trigger, "stage", d.stage, "target", d.target,
			"id", ev.ID(), "type", ev.Type(), "status", res.status, "error", res.err)
		return d.fail(ctx, work, ev, msg, res.status, "")
	}
	outcome := outcomeDelivered
	if res.status >= 300 {
		outcome = outcomeRefused
		d.log.Warn("target refused the event; not retried", "trigger", d.trigger, "stage", d.stage, "id", ev.ID(), "status", res.status)
	}
	if res.replyErr != nil {
		d.log.Warn("reply could not be forwarded to the broker", "trigger", d.trigger, "stage", d.stage, "id", ev.ID(), "error", res.replyErr)
		return d.replyFailed(ctx, work, ev, msg, res.status, res.replyErr.Error())
	}
	if res.reply != nil {
		fwd := d.deliver(ctx, work, d.ingressURL, res.reply, tp, ts)
		if fwd.interrupted {
			_ = msg.Nack(false, true)
			return outcomeRequeued
		}
		if !fwd.ok || fwd.status >= 300 {
			d.log.Warn("reply could not be forwarded to the broker", "trigger", d.trigger, "id", ev.ID(), "reply_id", res.reply.ID(), "status", fwd.status, "error", fwd.err)
			data := fmt.Sprintf("reply %s could not be forwarded to %s: status %d", res.reply.ID(), d.ingressURL, fwd.status)
			if fwd.err != nil {
				data += ": " + fwd.err.Error()
			}
			return d.replyFailed(ctx, work, ev, msg, res.status, data)
		}
	}
	_ = msg.Ack(false)
	return outcome
}

// replyFailed settles a message whose target took it but whose reply could
// not be forwarded. A subscriber dispatcher dead-letters the original with
// knativeerrordata, as upstream does. A dead-letter dispatcher acks it, as
// upstream does: the event reached the dead-letter sink, and requeueing it
// would only repeat a reply that cannot be forwarded.
func (d *dispatcher) replyFailed(ctx, work context.Context, ev *event.Event, msg amqp.Delivery, status int, errData string) string {
	if d.stage == stageSubscriber {
		return d.fail(ctx, work, ev, msg, status, errData)
	}
	_ = msg.Ack(false)
	return outcomeReplyDropped
}

// fail settles a message whose delivery failed for good. A subscriber
// dispatcher adds knativeerrordest and knativeerrorcode (and
// knativeerrordata when a reply could not be forwarded), publishes the event
// to the dead-letter exchange with confirms and only then acks the original
// (upstream acks first). A dead-letter dispatcher, or a failed dead-letter
// publish, requeues the message after requeueDelay (cut short when the
// broker stops): nothing is dropped. The dead-letter publish runs under
// work, so a delivery that failed for good while the broker stops is still
// dead-lettered.
func (d *dispatcher) fail(ctx, work context.Context, ev *event.Event, msg amqp.Delivery, status int, errData string) string {
	if d.stage == stageSubscriber {
		dead := ev.Clone()
		dead.SetExtension(ExtErrorDest, d.target)
		dead.SetExtension(ExtErrorCode, status)
		if errData != "" {
			dead.SetExtension(ExtErrorData, errData)
		}
		err := d.pub.publish(work, d.deadLetterExchange, toPublishing(&dead, "", ""))
		if err == nil {
			d.m.deadLetters.WithLabelValues(d.trigger).Inc()
			_ = msg.Ack(false)
			return outcomeDeadLettered
		}
		d.log.Error("dead-letter publish failed; requeueing", "trigger", d.trigger, "exchange", d.deadLetterExchange, "id", ev.ID(), "error", err)
	}
	sleepCtx(ctx, d.requeueDelay)
	_ = msg.Nack(false, true)
	return outcomeRequeued
}

// deliver POSTs ev to target in binary mode, retrying on network errors and
// retryable statuses with the Trigger's backoff. It mirrors sdk-go's
// protocol/http doWithRetry as eventing-rabbitmq configures it: attempts =
// retries + 1, the wait before retry n is the policy's Backoff(n).
//
// Like upstream's sdk-go client (DefaultTimeToNowIfNotSet), an event without
// a time is sent with the current time; the event itself, which a dead
// letter carries on, keeps none.
func (d *dispatcher) deliver(ctx, work context.Context, target string, ev *event.Event, tp, ts string) result {
	if ev.Time().IsZero() {
		timed := ev.Clone()
		timed.SetTime(time.Now().UTC())
		ev = &timed
	}
	var res result
	for attempt := 0; ; attempt++ {
		res = d.attempt(work, target, ev, tp, ts)
		d.m.attempts.WithLabelValues(d.trigger, d.stage, strconv.Itoa(res.status)).Inc()
		if res.status/100 != 2 {
			d.m.failedAttempts.WithLabelValues(d.trigger, d.stage).Inc()
		}
		if res.ok {
			return res
		}
		if work.Err() != nil {
			res.interrupted = true
			return res
		}
		if attempt >= d.policy.Retries {
			return res
		}
		d.log.Debug("delivery attempt failed; retrying", "trigger", d.trigger, "stage", d.stage, "target", target,
			"id", ev.ID(), "attempt", attempt+1, "status", res.status, "error", res.err, "retry_in", d.policy.Backoff(attempt+1))
		if !sleepCtx(ctx, d.policy.Backoff(attempt+1)) {
			res.interrupted = true
			return res
		}
	}
}

// attempt makes one HTTP delivery.
func (d *dispatcher) attempt(ctx context.Context, target string, ev *event.Event, tp, ts string) result {
	if d.policy.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, d.policy.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, nil)
	if err != nil {
		return result{status: -1, err: err}
	}
	if err := cehttp.WriteRequest(ctx, binding.ToMessage(ev), req); err != nil {
		return result{status: -1, err: fmt.Errorf("encode request: %w", err)}
	}
	if target == d.ingressURL {
		req.Header.Set(headerReplyToken, d.replyToken)
		req.Header.Set(headerReplyFrom, d.replyFrom)
	}
	if tp != "" {
		req.Header.Set(headerTraceParent, tp)
		if ts != "" {
			req.Header.Set(headerTraceState, ts)
		}
	}
	resp, err := d.client.Do(req)
	if err != nil {
		return result{status: -1, err: err}
	}
	defer func() { _ = resp.Body.Close() }()
	res := result{status: resp.StatusCode}
	if retryable(resp.StatusCode) {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		res.err = fmt.Errorf("status %d", resp.StatusCode)
		return res
	}
	res.ok = true
	if resp.StatusCode/100 != 2 {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return res
	}
	res.reply, err = d.readReply(ctx, resp)
	switch {
	case errors.Is(err, errReplyTooLarge):
		res.replyErr = err
	case err != nil:
		// Mirrors sdk-go's client.Request: a response that is not a valid
		// event is still an ACK of the request.
		d.log.Warn("ignoring a response that is not a valid CloudEvent", "trigger", d.trigger, "target", target, "id", ev.ID(), "error", err)
	}
	return res
}

// errReplyTooLarge is a reply event over the ingress's body limit, which
// the ingress would refuse.
var errReplyTooLarge = errors.New("reply event larger than the broker's body limit")

// readReply returns the CloudEvent a subscriber answered with, nil when the
// response carries none.
func (d *dispatcher) readReply(ctx context.Context, resp *http.Response) (*event.Event, error) {
	body, err := io.ReadAll(io.LimitReader(resp.Body, d.maxReplyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read response: %w", err)
	}
	msg := cehttp.NewMessage(resp.Header, io.NopCloser(bytes.NewReader(body)))
	if msg.ReadEncoding() == binding.EncodingUnknown {
		return nil, nil
	}
	if int64(len(body)) > d.maxReplyBytes {
		return nil, fmt.Errorf("%w (%d bytes)", errReplyTooLarge, d.maxReplyBytes)
	}
	reply, err := binding.ToEvent(ctx, msg)
	if err != nil {
		return nil, err
	}
	if err := reply.Validate(); err != nil {
		return nil, err
	}
	return reply, nil
}

// retryable reports whether a status is worth another attempt: 404, 408,
// 409, 429 and every 5xx, as Knative eventing's kncloudevents.SelectiveRetry
// decides for eventing-rabbitmq's dispatcher. Any other status ends the
// delivery as a success.
func retryable(status int) bool {
	switch {
	case status >= 500:
		return true
	case status == http.StatusNotFound, status == http.StatusRequestTimeout,
		status == http.StatusConflict, status == http.StatusTooManyRequests:
		return true
	}
	return false
}
