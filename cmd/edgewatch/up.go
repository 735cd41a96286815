package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/edgewatch/edgewatch/internal/httpserver"
	"github.com/edgewatch/edgewatch/internal/portholder"
)

// upOptions are the flags of `edgewatch up`.
type upOptions struct {
	host        string
	brokerPort  int
	firstPort   int
	amqpURL     string
	databaseURL string
	triggersDir string
	policiesDir string
	stateDir    string
	idle        time.Duration
	noMotion    bool
	uid         string
	metricsPort int
	teardown    bool
	stopTimeout time.Duration
	// readTimeout bounds the reading of one request by every server the runner starts.
	readTimeout time.Duration
	// exitWithParent stops the runner when the process that started it ends.
	exitWithParent bool
}

func parseUp(args []string) (upOptions, error) {
	var o upOptions
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	fs.StringVar(&o.host, "host", "127.0.0.1", "address every local service listens on")
	fs.IntVar(&o.brokerPort, "broker-port", 8080, "broker ingress port")
	fs.IntVar(&o.firstPort, "first-port", 8081, "first of the ports given to functions")
	fs.StringVar(&o.amqpURL, "rabbitmq-url", envOr("RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/"), "RabbitMQ URL")
	fs.StringVar(&o.databaseURL, "database-url", envOr("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/edgewatch?sslmode=disable"), "PostgreSQL URL")
	fs.StringVar(&o.triggersDir, "triggers", "config/triggers", "directory of Trigger manifests")
	fs.StringVar(&o.policiesDir, "eventpolicies", "config/eventpolicies", "directory of EventPolicy manifests: who may send which events to the broker")
	fs.StringVar(&o.stateDir, "state", "out/local", "directory for generated models, clips and logs")
	fs.DurationVar(&o.idle, "scale-to-zero-after", 60*time.Second, "stop detect after this long without events (0 keeps it up)")
	fs.StringVar(&o.uid, "uid", "local", "suffix of every RabbitMQ object name (Knative's broker UID)")
	fs.IntVar(&o.metricsPort, "metrics-port", 9400, "port of the broker's and runner's Prometheus metrics")
	fs.BoolVar(&o.teardown, "teardown", false, "delete the broker's RabbitMQ exchanges and queues on exit (queued events are lost)")
	fs.BoolVar(&o.noMotion, "no-motion", false, "do not start motion-source (send events with curl or edgewatch send)")
	fs.DurationVar(&o.stopTimeout, "stop-timeout", 10*time.Second, "longest a graceful stop may take before what is left is killed")
	fs.DurationVar(&o.readTimeout, "read-timeout", httpserver.DefaultReadTimeout, "longest a client may take to send one request, body included, to the broker ingress or an activator")
	fs.BoolVar(&o.exitWithParent, "exit-with-parent", false, "stop when the process that started this one ends (make run sets it)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if o.readTimeout <= 0 {
		return o, fmt.Errorf("-read-timeout must be positive, not %v", o.readTimeout)
	}
	if o.stopTimeout <= 0 {
		return o, fmt.Errorf("-stop-timeout must be positive, not %v", o.stopTimeout)
	}
	return o, nil
}

// absState makes the state directory and returns its absolute path.
func absState(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return abs, os.MkdirAll(abs, 0o755)
}

// runUp runs the whole pipeline until the first stop signal, then stops it
// in order within -stop-timeout (a second signal cuts that short).
func runUp(sig *signals, log *slog.Logger, parent int, args []string) error {
	o, err := parseUp(args)
	if err != nil {
		return err
	}
	if o.exitWithParent {
		if err := exitWithParent(parent); err != nil {
			return err
		}
	}
	state, err := absState(o.stateDir)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	proc := portholder.Proc{Root: "/proc"}
	for _, port := range upPorts(o) {
		if err := checkPort(proc, o.host, port); err != nil {
			return err
		}
	}
	r := newRunner(log, o, exe, state, os.Stdout)
	err = r.start(sig.stop)
	if err == nil {
		banner(os.Stdout, r.plan.bannerLines(o, r.broker.URL()), r.plan.notes)
		<-sig.stop.Done()
	}
	if sig.stop.Err() != nil {
		log.Info("stopping", "cause", context.Cause(sig.stop))
		if errors.Is(err, context.Canceled) {
			err = nil // stopped during start-up, as asked
		}
	} else {
		log.Error("start-up failed; stopping what was started", "err", err)
	}
	return errors.Join(err, r.stop(sig.force))
}
