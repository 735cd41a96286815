// Package localbroker runs the broker on one machine: it loads the Trigger
// manifests, starts the broker's dispatchers on RabbitMQ and serves its
// ingress, and stops them again in order.
package localbroker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgewatch/edgewatch/internal/broker"
	"github.com/edgewatch/edgewatch/internal/httpserver"
	"github.com/edgewatch/edgewatch/internal/triggers"
)

// Options configure the local broker.
type Options struct {
	Addr        string
	AMQPURL     string
	UID         string
	TriggersDir string
	// Services are the Trigger subscribers' local addresses by name.
	Services map[string]string
	// StopTimeout bounds the deliveries in flight once the broker stops.
	StopTimeout time.Duration
	// Internal, when set, serves the ingress for the pipeline's own
	// functions, which stays open while the broker stops.
	Internal net.Listener
	// ReadTimeout bounds the reading of one whole request by the ingress.
	ReadTimeout time.Duration
	// Senders, when set, are the identities the ingress checks events against.
	Senders *broker.Senders
}

// Broker is a running broker and its ingress servers.
type Broker struct {
	b        *broker.Broker
	srv      *http.Server
	internal *http.Server // nil without Options.Internal
	url      string
	done     chan error
}

// ingressServer serves an ingress handler; the handler limits the body.
// The response is due within the read plus RabbitMQ's confirm.
func ingressServer(h http.Handler, read time.Duration) *http.Server {
	return httpserver.Bounded(h, read, read+broker.DefaultPublishTimeout+5*time.Second)
}

// Start loads the Trigger manifests, starts the broker's dispatchers
// under runCtx and serves its ingress; it returns once RabbitMQ topology is
// declared. When ctx ends first it returns the broker, not ready, with
// ctx's error: stop it as a ready one.
func Start(ctx, runCtx context.Context, log *slog.Logger, reg prometheus.Registerer, o Options) (*Broker, error) {
	ts, err := triggers.LoadDir(o.TriggersDir)
	if err != nil {
		CloseListener(o.Internal)
		return nil, err
	}
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		CloseListener(o.Internal)
		return nil, fmt.Errorf("broker ingress: %w", err)
	}
	ingressURL := "http://" + ln.Addr().String() + "/"
	b, err := broker.New(broker.Config{
		AMQPURL:     o.AMQPURL,
		Namespace:   "edgewatch",
		Name:        "default",
		UID:         o.UID,
		IngressURL:  ingressURL,
		Triggers:    ts,
		Resolver:    triggers.NewStaticResolver(o.Services),
		Logger:      log.With("component", "broker"),
		Registerer:  reg,
		StopTimeout: o.StopTimeout,
		Senders:     o.Senders,
	})
	if err != nil {
		ln.Close()
		CloseListener(o.Internal)
		return nil, err
	}
	lb := &Broker{b: b, url: ingressURL, done: make(chan error, 1), srv: ingressServer(b.Ingress(), o.ReadTimeout)}
	go func() { lb.done <- b.Run(runCtx) }()
	go func() { _ = lb.srv.Serve(ln) }()
	if o.Internal != nil {
		lb.internal = ingressServer(b.InternalIngress(), o.ReadTimeout)
		go func() { _ = lb.internal.Serve(o.Internal) }()
	}
	select {
	case <-b.Ready():
	case <-ctx.Done():
		return lb, ctx.Err()
	case err := <-lb.done:
		_ = lb.Close()
		if err == nil {
			err = errors.New("stopped before it was ready")
		}
		return nil, fmt.Errorf("broker: %w", err)
	case <-time.After(60 * time.Second):
		_ = lb.Close()
		return nil, errors.New("broker: RabbitMQ topology not declared within 60 s (is RabbitMQ running? make deps)")
	}
	names := make([]string, 0, len(ts))
	for _, t := range ts {
		names = append(names, t.Name)
	}
	log.Info("broker ready", "ingress", ingressURL, "exchange", b.ExchangeName(), "triggers", strings.Join(names, ","))
	return lb, nil
}

// URL is the ingress's address.
func (lb *Broker) URL() string { return lb.url }

// CloseIngress refuses new events at both ingresses; the servers stay up.
func (lb *Broker) CloseIngress() { lb.b.CloseIngress() }

// Teardown deletes the broker's RabbitMQ exchanges and queues.
func (lb *Broker) Teardown(ctx context.Context) error { return lb.b.Teardown(ctx) }

// Drain waits, until ctx ends, for the broker's dispatchers to finish the
// deliveries they hold; their context must be done. The ingress should be
// closed first (CloseIngress) so that no new event arrives meanwhile.
func (lb *Broker) Drain(ctx context.Context) error {
	select {
	case err := <-lb.done:
		lb.done <- err // for Close
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops serving the ingresses.
func (lb *Broker) Close() error {
	err := lb.srv.Close()
	if lb.internal != nil {
		err = errors.Join(err, lb.internal.Close())
	}
	return err
}

// CloseListener closes ln when it is set.
func CloseListener(ln net.Listener) {
	if ln != nil {
		_ = ln.Close()
	}
}

// Stop waits for the broker's dispatchers (their context must be done) and
// closes the ingress.
func (lb *Broker) Stop() error {
	err := <-lb.done
	_ = lb.srv.Close()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}
