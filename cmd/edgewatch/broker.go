package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgewatch/edgewatch/internal/broker"
	"github.com/edgewatch/edgewatch/internal/triggers"
)

// brokerOptions configure the local broker.
type brokerOptions struct {
	addr        string
	amqpURL     string
	uid         string
	triggersDir string
	services    map[string]string
	// stopTimeout bounds the deliveries in flight once the broker stops.
	stopTimeout time.Duration
	// internal, when set, serves the ingress for the pipeline's own
	// functions, which stays open while the broker stops.
	internal net.Listener
	// readTimeout bounds the reading of one whole request by the ingress.
	readTimeout time.Duration
	// senders, when set, are the identities the ingress checks events against.
	senders *broker.Senders
}

// localBroker is a running broker and its ingress servers.
type localBroker struct {
	b        *broker.Broker
	srv      *http.Server
	internal *http.Server // nil without brokerOptions.internal
	url      string
	done     chan error
}

// ingressServer serves an ingress handler; the handler limits the body.
// The response is due within the read plus RabbitMQ's confirm.
func ingressServer(h http.Handler, read time.Duration) *http.Server {
	return boundedServer(h, read, read+broker.DefaultPublishTimeout+5*time.Second)
}

// startBroker loads the Trigger manifests, starts the broker's dispatchers
// under runCtx and serves its ingress; it returns once RabbitMQ topology is
// declared. When ctx ends first it returns the broker, not ready, with
// ctx's error: stop it as a ready one.
func startBroker(ctx, runCtx context.Context, log *slog.Logger, reg prometheus.Registerer, o brokerOptions) (*localBroker, error) {
	ts, err := triggers.LoadDir(o.triggersDir)
	if err != nil {
		closeListener(o.internal)
		return nil, err
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		closeListener(o.internal)
		return nil, fmt.Errorf("broker ingress: %w", err)
	}
	ingressURL := "http://" + ln.Addr().String() + "/"
	b, err := broker.New(broker.Config{
		AMQPURL:     o.amqpURL,
		Namespace:   "edgewatch",
		Name:        "default",
		UID:         o.uid,
		IngressURL:  ingressURL,
		Triggers:    ts,
		Resolver:    triggers.NewStaticResolver(o.services),
		Logger:      log.With("component", "broker"),
		Registerer:  reg,
		StopTimeout: o.stopTimeout,
		Senders:     o.senders,
	})
	if err != nil {
		ln.Close()
		closeListener(o.internal)
		return nil, err
	}
	lb := &localBroker{b: b, url: ingressURL, done: make(chan error, 1), srv: ingressServer(b.Ingress(), o.readTimeout)}
	go func() { lb.done <- b.Run(runCtx) }()
	go func() { _ = lb.srv.Serve(ln) }()
	if o.internal != nil {
		lb.internal = ingressServer(b.InternalIngress(), o.readTimeout)
		go func() { _ = lb.internal.Serve(o.internal) }()
	}
	select {
	case <-b.Ready():
	case <-ctx.Done():
		return lb, ctx.Err()
	case err := <-lb.done:
		_ = lb.close()
		if err == nil {
			err = errors.New("stopped before it was ready")
		}
		return nil, fmt.Errorf("broker: %w", err)
	case <-time.After(60 * time.Second):
		_ = lb.close()
		return nil, errors.New("broker: RabbitMQ topology not declared within 60 s (is RabbitMQ running? make deps)")
	}
	names := make([]string, 0, len(ts))
	for _, t := range ts {
		names = append(names, t.Name)
	}
	log.Info("broker ready", "ingress", ingressURL, "exchange", b.ExchangeName(), "triggers", strings.Join(names, ","))
	return lb, nil
}

// drain waits, until ctx ends, for the broker's dispatchers to finish the
// deliveries they hold; their context must be done. The ingress should be
// closed first (CloseIngress) so that no new event arrives meanwhile.
func (lb *localBroker) drain(ctx context.Context) error {
	select {
	case err := <-lb.done:
		lb.done <- err // for close
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops serving the ingresses.
func (lb *localBroker) close() error {
	err := lb.srv.Close()
	if lb.internal != nil {
		err = errors.Join(err, lb.internal.Close())
	}
	return err
}

func closeListener(ln net.Listener) {
	if ln != nil {
		_ = ln.Close()
	}
}

// stop waits for the broker's dispatchers (their context must be done) and
// closes the ingress.
func (lb *localBroker) stop() error {
	err := <-lb.done
	_ = lb.srv.Close()
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// runBroker runs the broker alone, with subscribers given on the command
// line as NAME=URL.
func runBroker(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	o := brokerOptions{services: map[string]string{}}
	fs.StringVar(&o.addr, "addr", "127.0.0.1:8080", "ingress address")
	fs.StringVar(&o.amqpURL, "rabbitmq-url", envOr("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"), "RabbitMQ URL")
	fs.StringVar(&o.uid, "uid", "local", "suffix of every RabbitMQ object name (Knative's broker UID)")
	fs.StringVar(&o.triggersDir, "triggers", "config/triggers", "directory of Trigger manifests")
	fs.DurationVar(&o.readTimeout, "read-timeout", DefaultReadTimeout, "longest a client may take to send one request, body included")
	fs.Func("service", "a Trigger subscriber's local address, NAME=URL (repeatable)", func(s string) error {
		name, u, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("want NAME=URL, got %q", s)
		}
		o.services[name] = u
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	reg := newRegistry()
	lb, err := startBroker(ctx, ctx, log, reg, o)
	if lb == nil {
		return err
	}
	<-ctx.Done()
	lb.b.CloseIngress()
	return lb.stop()
}
