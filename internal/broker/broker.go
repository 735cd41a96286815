// Package broker is a local Knative Broker on RabbitMQ: an HTTP ingress that
// publishes CloudEvents to a headers exchange, and one dispatcher per Trigger
// that delivers the Trigger's queue to its subscriber over HTTP. It
// reproduces the data plane of knative-extensions/eventing-rabbitmq v0.48.0
// (topology, message format, retries, dead letters, replies) so that the
// Trigger manifests in config/triggers behave the same on a laptop as on a
// cluster. Each file names the upstream source it mirrors.
//
// Topology, per broker (names as eventing-rabbitmq pkg/rabbitmqnaming):
//
//   - b.<ns>.<broker>.<uid>: durable headers exchange the ingress publishes to;
//   - b.<ns>.<broker>.dlx.<uid> and b.<ns>.<broker>.dlq.<uid>: the broker's
//     dead-letter exchange and queue, for Triggers without a dead-letter
//     sink; a dispatcher drains the queue into Config.Delivery's
//     dead-letter sink when the Broker has one, otherwise dead letters wait
//     in the queue;
//   - <ns>.<trigger>.<uid>: one durable queue (quorum by default) per Trigger,
//     bound with the Trigger's filter attributes, x-knative-trigger: <name>
//     and x-match: all;
//   - t.<ns>.<trigger>.dlx.<uid> and t.<ns>.<trigger>.dlq.<uid>: per Trigger
//     with a dead-letter sink, drained by a second dispatcher into the sink.
//
// Delivery semantics are upstream's: prefetch 100, parallelism workers per
// Trigger, retries on network errors, 5xx, 404, 408, 409 and 429 with
// exponential (delay·2^n) or linear (delay·n) backoff, attempts = retry + 1,
// no delivery spec means no retries; any other status counts as delivered.
// A reply event is POSTed to the ingress. After the last failed attempt the
// event gets knativeerrordest and knativeerrorcode (and knativeerrordata
// when a reply could not be forwarded) and goes to the dead-letter exchange.
//
// Where this package deliberately differs from upstream, it is safer:
//
//   - the broker dead-letter exchange and queue always exist, and every
//     Trigger without its own dead-letter sink dead-letters there (upstream
//     drops the event when the Trigger has a delivery spec without a sink,
//     or when the Broker has no sink);
//   - the original message is acked only after RabbitMQ confirmed its dead
//     letter (upstream acks first, so a failed dead-letter publish loses it);
//   - an event that the dead-letter sink does not take is requeued after
//     Config.RequeueDelay instead of dropped;
//   - on stop, a message waiting for a retry is requeued, not dead-lettered;
//   - CloseIngress refuses new events with 503 while the dispatchers finish
//     what they hold, whose replies are still taken;
//   - the ingress limits body size (413), answers 503 with Retry-After while
//     RabbitMQ is unreachable (upstream: 500) and says why it refuses;
//   - a reply is only taken from a 2xx response, and forwarding it counts
//     as done only on a 2xx from the ingress;
//   - attributes and extensions larger than MaxAttributeBytes in all are
//     refused with 400 (they would not fit an AMQP frame);
//   - with Config.Senders, the ingress enforces who may send what, as
//     Knative's EventPolicies do on broker classes that verify senders
//     (eventing-rabbitmq does not): 401 without a known token, 403 with
//     the reason for a type the sender may not send.
//
// As upstream, an event without a time is published with the zero time and
// delivered with the time of dispatch (sdk-go's client default). The test
// module in ./parity runs eventing-rabbitmq's own dispatcher beside this one
// and compares what both deliver, retry and dead-letter.
//
// Dead-letter sinks that stay down are retried by requeueing. On RabbitMQ
// 3.x quorum queues have no delivery limit, so this never ends in a drop; on
// RabbitMQ 4.x the default delivery limit of 20 applies to requeues.
//
// Metrics (registered on Config.Registerer):
//
//   - edgewatch_broker_ingress_accepted_total
//   - edgewatch_broker_ingress_rejected_total{reason}: method, path,
//     too_large, invalid_event, unavailable, publish_failed, stopping,
//     unauthenticated, forbidden (with Config.Senders)
//   - edgewatch_broker_publish_duration_seconds: publish to confirm
//   - edgewatch_broker_dispatch_attempts_total{trigger,stage,code}
//   - edgewatch_broker_dispatch_outcomes_total{trigger,stage,outcome}:
//     delivered, refused, dead_lettered, requeued, reply_dropped
//   - edgewatch_broker_dispatch_duration_seconds{trigger,stage}
//   - edgewatch_broker_dead_letters_total{trigger}
//   - edgewatch_broker_unparsable_messages_total{trigger}
//   - edgewatch_broker_reconnects_total
//
// stage is subscriber or dead_letter_sink; the broker's own dead-letter
// dispatcher is labelled trigger="broker/<name>".
//
// Use:
//
//	ts, _ := triggers.LoadDir("config/triggers")
//	b, err := broker.New(broker.Config{
//		AMQPURL:    "amqp://guest:guest@127.0.0.1:5672/",
//		Namespace:  "edgewatch",
//		Name:       "default",
//		UID:        "local",
//		IngressURL: "http://127.0.0.1:8080/",
//		Triggers:   ts,
//		Resolver:   triggers.NewStaticResolver(map[string]string{"detect": "http://127.0.0.1:8081/"}),
//		Logger:     logger,
//		Registerer: registry,
//	})
//	go http.ListenAndServe("127.0.0.1:8080", b.Ingress())
//	err = b.Run(ctx) // until ctx is done
package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/edgewatch/edgewatch/internal/amqpx"
	"github.com/edgewatch/edgewatch/internal/triggers"
)

// Defaults of Config's optional fields.
const (
	DefaultPublishTimeout = 10 * time.Second
	DefaultRequeueDelay   = 5 * time.Second
	DefaultStopTimeout    = 30 * time.Second
)

// Config describes one broker.
type Config struct {
	// AMQPURL is the RabbitMQ address, e.g. amqp://guest:guest@127.0.0.1:5672/.
	AMQPURL string
	// Namespace and Name identify the broker (Knative's namespace and broker
	// name); Triggers whose spec.broker or namespace differ are refused.
	Namespace string
	Name      string
	// UID suffixes every RabbitMQ object name (Knative's broker UID). Give
	// each test its own to isolate it.
	UID string
	// IngressURL is where dispatchers POST reply events: this broker's
	// ingress as served by the caller, e.g. http://127.0.0.1:8080/.
	IngressURL string
	// Triggers are the routes; every Trigger's subscriber and dead-letter
	// sink must resolve.
	Triggers []triggers.Trigger
	// Resolver maps Trigger destinations to URLs.
	Resolver triggers.Resolver
	// Delivery is the Broker's spec.delivery, nil when it has none. Triggers
	// without a delivery spec retry by it, and its deadLetterSink receives
	// the broker dead-letter queue (the dead letters of Triggers without a
	// dead-letter sink), as eventing-rabbitmq's broker and trigger
	// reconcilers arrange.
	Delivery *triggers.Delivery
	// QueueType is QueueTypeQuorum (default, as upstream) or QueueTypeClassic.
	QueueType string
	// MaxBodyBytes limits an ingress request body (default DefaultMaxBodyBytes).
	// Replies larger than this are not forwarded.
	MaxBodyBytes int64
	// PublishTimeout bounds the wait for RabbitMQ's confirm (default 10 s);
	// past it the ingress answers 503.
	PublishTimeout time.Duration
	// RequeueDelay is the pause before an event the dead-letter sink did not
	// take (or whose dead letter could not be published) is requeued
	// (default 5 s).
	RequeueDelay time.Duration
	// StopTimeout is how long in-flight deliveries may run after Run's
	// context ends before they are cut off and requeued (default 30 s).
	StopTimeout time.Duration
	// HTTPClient delivers events; its Timeout should be zero (each Trigger's
	// delivery timeout applies per attempt). Default: a pooled client.
	HTTPClient *http.Client
	// Senders, when set, authenticates and authorises every event the
	// ingress takes: a request must carry a token of Senders.Tokens
	// (Authorization: Bearer TOKEN, or Basic with the token as password,
	// as a sink URL's user info sends it), else 401; the token's sender
	// must be allowed the event's type, else 403. Replies the dispatchers
	// forward are sent by their target's function (a Trigger subscriber's
	// or dead-letter sink's ref name). Nil takes every event, as upstream.
	Senders *Senders
	// Logger receives the broker's logs (default: discard).
	Logger *slog.Logger
	// Registerer receives the broker's metrics (default: a private registry).
	Registerer prometheus.Registerer
}

// Broker is a running local broker. Create it with New, serve Ingress and
// call Run.
type Broker struct {
	cfg         Config
	log         *slog.Logger
	m           *metrics
	topo        topology
	conn        *amqpx.Conn
	pub         *publisher
	ingress     *ingress
	dispatchers []*dispatcher
	ready       chan struct{}
	running     atomic.Bool
}

// New checks cfg, resolves every destination and prepares the broker.
// Nothing touches RabbitMQ until Run.
func New(cfg Config) (*Broker, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("broker: metrics: %w", err)
	}
	b := &Broker{
		cfg:   cfg,
		log:   cfg.Logger,
		m:     m,
		ready: make(chan struct{}),
		topo: topology{
			names:     names{ns: cfg.Namespace, broker: cfg.Name, uid: cfg.UID},
			queueType: cfg.QueueType,
			triggers:  cfg.Triggers,
		},
	}
	b.conn = amqpx.New(cfg.AMQPURL, amqpx.Options{
		Logger:      cfg.Logger,
		Name:        fmt.Sprintf("edgewatch-broker %s/%s %s", cfg.Namespace, cfg.Name, cfg.UID),
		OnReconnect: m.reconnects.Inc,
	})
	b.pub = &publisher{conn: b.conn, timeout: cfg.PublishTimeout, log: cfg.Logger, m: m, declare: b.topo.declareBroker}
	var token [16]byte
	_, _ = rand.Read(token[:])
	b.ingress = &ingress{exchange: b.topo.names.exchange(), maxBody: cfg.MaxBodyBytes, publish: b.pub.publish, log: cfg.Logger, m: m,
		replyToken: hex.EncodeToString(token[:]), senders: cfg.Senders}
	for _, t := range cfg.Triggers {
		ds, err := b.dispatchersFor(t)
		if err != nil {
			return nil, err
		}
		b.dispatchers = append(b.dispatchers, ds...)
	}
	if cfg.Delivery != nil && cfg.Delivery.DeadLetterSink != nil {
		d, err := b.brokerDeadLetterDispatcher()
		if err != nil {
			return nil, err
		}
		b.dispatchers = append(b.dispatchers, d)
	}
	for _, d := range b.dispatchers {
		m.dispatcher(d.trigger, d.stage)
	}
	return b, nil
}

// brokerDeadLetterDispatcher drains the broker's dead-letter queue into the
// Broker's dead-letter sink.
func (b *Broker) brokerDeadLetterDispatcher() (*dispatcher, error) {
	u, err := b.cfg.Resolver.Resolve(*b.cfg.Delivery.DeadLetterSink, b.cfg.Namespace)
	if err != nil {
		return nil, fmt.Errorf("broker: Delivery.DeadLetterSink: %w", err)
	}
	d := b.baseDispatcher("broker/"+b.cfg.Name, triggers.Trigger{Delivery: b.cfg.Delivery}.RetryPolicy(), 1)
	d.stage = stageDeadLetterSink
	d.queue = b.topo.names.dlq()
	d.target = u.String()
	d.replyFrom = destinationName(*b.cfg.Delivery.DeadLetterSink)
	d.declare = b.topo.declareBroker
	return d, nil
}

func (b *Broker) baseDispatcher(label string, policy triggers.RetryPolicy, workers int) *dispatcher {
	return &dispatcher{
		trigger:       label,
		ingressURL:    b.cfg.IngressURL,
		replyToken:    b.ingress.replyToken,
		policy:        policy,
		workers:       workers,
		requeueDelay:  b.cfg.RequeueDelay,
		maxReplyBytes: b.cfg.MaxBodyBytes,
		conn:          b.conn,
		pub:           b.pub,
		client:        b.cfg.HTTPClient,
		log:           b.log,
		m:             b.m,
	}
}

func (c *Config) defaults() error {
	var missing []string
	for name, v := range map[string]string{"AMQPURL": c.AMQPURL, "Namespace": c.Namespace, "Name": c.Name, "UID": c.UID, "IngressURL": c.IngressURL} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("broker: config needs %s", strings.Join(missing, ", "))
	}
	if u, err := url.Parse(c.IngressURL); err != nil || !u.IsAbs() {
		return fmt.Errorf("broker: IngressURL %q is not an absolute URL", c.IngressURL)
	}
	if c.Resolver == nil && (len(c.Triggers) > 0 || c.Delivery != nil) {
		return errors.New("broker: config needs a Resolver")
	}
	switch c.QueueType {
	case "":
		c.QueueType = QueueTypeQuorum
	case QueueTypeQuorum, QueueTypeClassic:
	default:
		return fmt.Errorf("broker: QueueType %q is neither %s nor %s", c.QueueType, QueueTypeQuorum, QueueTypeClassic)
	}
	if c.MaxBodyBytes <= 0 {
		c.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if c.PublishTimeout <= 0 {
		c.PublishTimeout = DefaultPublishTimeout
	}
	if c.RequeueDelay <= 0 {
		c.RequeueDelay = DefaultRequeueDelay
	}
	if c.StopTimeout <= 0 {
		c.StopTimeout = DefaultStopTimeout
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Registerer == nil {
		c.Registerer = prometheus.NewRegistry()
	}
	if c.HTTPClient == nil {
		c.HTTPClient = newHTTPClient()
	}
	seen := map[string]bool{}
	for _, t := range c.Triggers {
		if t.Broker != c.Name || t.Namespace != c.Namespace {
			return fmt.Errorf("broker: trigger %s/%s (%s) is for broker %s/%s, not %s/%s", t.Namespace, t.Name, t.File, t.Namespace, t.Broker, c.Namespace, c.Name)
		}
		if seen[t.Name] {
			return fmt.Errorf("broker: trigger %s appears twice", t.Name)
		}
		seen[t.Name] = true
		if t.Parallelism < triggers.MinParallelism || t.Parallelism > triggers.MaxParallelism {
			return fmt.Errorf("broker: trigger %s: parallelism %d outside %d–%d", t.Name, t.Parallelism, triggers.MinParallelism, triggers.MaxParallelism)
		}
	}
	return nil
}

// newHTTPClient mirrors the connection pool eventing-rabbitmq's ingress
// configures (cmd/ingress/main.go: 1000 idle connections, 1000 per host).
func newHTTPClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          1000,
		MaxIdleConnsPerHost:   1000,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
	}}
}

func (b *Broker) dispatchersFor(t triggers.Trigger) ([]*dispatcher, error) {
	sub, err := b.cfg.Resolver.Resolve(t.Subscriber, t.Namespace)
	if err != nil {
		return nil, fmt.Errorf("broker: trigger %s (%s) spec.subscriber: %w", t.Name, t.File, err)
	}
	// A Trigger without a delivery spec retries by the Broker's
	// (eventing-rabbitmq pkg/reconciler/trigger/trigger.go).
	policy := t.RetryPolicy()
	if t.Delivery == nil && b.cfg.Delivery != nil {
		policy = triggers.Trigger{Delivery: b.cfg.Delivery}.RetryPolicy()
	}
	n := b.topo.names
	main := b.baseDispatcher(t.Name, policy, t.Parallelism)
	main.stage = stageSubscriber
	main.queue = n.triggerQueue(t)
	main.target = sub.String()
	main.replyFrom = destinationName(t.Subscriber)
	main.deadLetterExchange = n.deadLetterExchange(t)
	main.declare = func(ch *amqp.Channel) error { return b.topo.declareTrigger(ch, t) }
	out := []*dispatcher{main}
	if dls := t.DeadLetterSink(); dls != nil {
		u, err := b.cfg.Resolver.Resolve(*dls, t.Namespace)
		if err != nil {
			return nil, fmt.Errorf("broker: trigger %s (%s) spec.delivery.deadLetterSink: %w", t.Name, t.File, err)
		}
		dlq := b.baseDispatcher(t.Name, policy, t.Parallelism)
		dlq.stage = stageDeadLetterSink
		dlq.queue = n.triggerDLQ(t)
		dlq.target = u.String()
		dlq.replyFrom = destinationName(*dls)
		dlq.declare = func(ch *amqp.Channel) error { return b.topo.declareTriggerDLQ(ch, t) }
		out = append(out, dlq)
	}
	return out, nil
}

// destinationName is the name of a destination's ref, or its URI without one.
func destinationName(d triggers.Destination) string {
	if d.Ref != nil {
		return d.Ref.Name
	}
	return d.URI
}

// Ingress returns the broker's HTTP ingress handler (serve it on "/").
// Before Run has connected it answers 503.
func (b *Broker) Ingress() http.Handler { return b.ingress }

// InternalIngress returns a second handler of the same ingress for the
// pipeline's own functions (a function that sends its results to K_SINK,
// as detect does): it keeps taking events after CloseIngress, so that the
// deliveries in flight can finish. Serve it where only those functions
// reach it.
func (b *Broker) InternalIngress() http.Handler { return internalIngress{b.ingress} }

// CloseIngress makes the ingress refuse new events with 503 and
// Retry-After, the first step of a stop: replies of deliveries still in
// flight are taken until Run returns. It cannot be undone.
func (b *Broker) CloseIngress() { b.ingress.closed.Store(true) }

// Ready is closed once Run has declared the topology and the ingress can
// publish.
func (b *Broker) Ready() <-chan struct{} { return b.ready }

// ExchangeName is the broker's exchange, b.<ns>.<broker>.<uid>.
func (b *Broker) ExchangeName() string { return b.topo.names.exchange() }

// DeadLetterQueueName is the broker's dead-letter queue, where the dead
// letters of Triggers without a dead-letter sink wait.
func (b *Broker) DeadLetterQueueName() string { return b.topo.names.dlq() }

// TriggerQueueName is the queue of the named Trigger.
func (b *Broker) TriggerQueueName(t triggers.Trigger) string { return b.topo.names.triggerQueue(t) }

// Run connects to RabbitMQ (waiting for it if need be), declares the
// topology and runs the publisher and every dispatcher until ctx is done.
// Then it stops consuming, lets in-flight deliveries finish (up to
// Config.StopTimeout, after which they are requeued), and closes the
// connection. It returns an error only when the topology cannot be declared
// (for example a queue of the same name with other arguments exists); it
// can be called once.
func (b *Broker) Run(ctx context.Context) error {
	if !b.running.CompareAndSwap(false, true) {
		return errors.New("broker: Run called twice")
	}
	connCtx, stopConn := context.WithCancel(context.WithoutCancel(ctx))
	defer stopConn()
	var bg sync.WaitGroup
	defer bg.Wait()
	bg.Go(func() { _ = b.conn.Run(connCtx) })

	if err := b.declare(ctx); err != nil {
		stopConn()
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	pubReady := make(chan struct{})
	bg.Go(func() { b.pub.run(connCtx, pubReady) })
	select {
	case <-pubReady:
		close(b.ready)
		b.log.Info("broker ready", "exchange", b.topo.names.exchange(), "triggers", len(b.cfg.Triggers))
	case <-ctx.Done():
	}

	// In-flight work outlives ctx by StopTimeout.
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	go func() {
		select {
		case <-ctx.Done():
		case <-connCtx.Done():
			return
		}
		t := time.NewTimer(b.cfg.StopTimeout)
		defer t.Stop()
		select {
		case <-t.C:
			stopWork()
		case <-connCtx.Done():
		}
	}()
	var dw sync.WaitGroup
	for _, d := range b.dispatchers {
		dw.Go(func() { d.run(ctx, work) })
	}
	<-ctx.Done()
	dw.Wait()
	stopConn()
	b.log.Info("broker stopped", "exchange", b.topo.names.exchange())
	return nil
}

// declare declares the whole topology once connected.
func (b *Broker) declare(ctx context.Context) error {
	ch, err := b.conn.Channel(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = ch.Close() }()
	if err := b.topo.declareAll(ch); err != nil {
		return fmt.Errorf("broker: %w", err)
	}
	return nil
}

// Teardown deletes the broker's exchanges and queues, with any messages
// still in them. It dials its own connection, so it works whether or not
// Run is running.
func (b *Broker) Teardown(ctx context.Context) error {
	conn, err := amqp.DialConfig(b.cfg.AMQPURL, amqp.Config{Dial: amqp.DefaultDial(5 * time.Second)})
	if err != nil {
		return fmt.Errorf("broker: teardown: %w", err)
	}
	defer func() { _ = conn.Close() }()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("broker: teardown: %w", err)
	}
	defer func() { _ = ch.Close() }()
	if err := b.topo.deleteAll(ch); err != nil {
		return fmt.Errorf("broker: teardown: %w", err)
	}
	return ctx.Err()
}
