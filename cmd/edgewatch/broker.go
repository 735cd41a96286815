package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/edgewatch/edgewatch/internal/httpserver"
	"github.com/edgewatch/edgewatch/internal/localbroker"
)

// runBroker runs the broker alone, with subscribers given on the command
// line as NAME=URL.
func runBroker(ctx context.Context, log *slog.Logger, args []string) error {
	fs := flag.NewFlagSet("broker", flag.ContinueOnError)
	o := localbroker.Options{Services: map[string]string{}}
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:8080", "ingress address")
	fs.StringVar(&o.AMQPURL, "rabbitmq-url", envOr("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"), "RabbitMQ URL")
	fs.StringVar(&o.UID, "uid", "local", "suffix of every RabbitMQ object name (Knative's broker UID)")
	fs.StringVar(&o.TriggersDir, "triggers", "config/triggers", "directory of Trigger manifests")
	fs.DurationVar(&o.ReadTimeout, "read-timeout", httpserver.DefaultReadTimeout, "longest a client may take to send one request, body included")
	fs.Func("service", "a Trigger subscriber's local address, NAME=URL (repeatable)", func(s string) error {
		name, u, ok := strings.Cut(s, "=")
		if !ok {
			return fmt.Errorf("want NAME=URL, got %q", s)
		}
		o.Services[name] = u
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return err
	}
	reg := httpserver.NewRegistry()
	lb, err := localbroker.Start(ctx, ctx, log, reg, o)
	if lb == nil {
		return err
	}
	<-ctx.Done()
	lb.CloseIngress()
	return lb.Stop()
}
