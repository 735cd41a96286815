package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edgewatch/edgewatch/internal/supervisor"
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
	fs.DurationVar(&o.readTimeout, "read-timeout", DefaultReadTimeout, "longest a client may take to send one request, body included, to the broker ingress or an activator")
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

// envOr returns the environment variable key, or def when it is empty.
func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

// service is one function of the local pipeline.
type service struct {
	name        string
	port        int
	metricsPort int
	env         []string
	// activated services sit behind an activator on port and run on
	// port+1000 when they are up.
	activated bool
	// source services send events of their own (motion-source); they are
	// started last and stopped first.
	source bool
}

func (s service) publicURL(host string) string {
	return fmt.Sprintf("http://%s:%d/", host, s.port)
}

func (s service) processAddr(host string) string {
	if s.activated {
		return fmt.Sprintf("%s:%d", host, s.port+1000)
	}
	return fmt.Sprintf("%s:%d", host, s.port)
}

// processSpec describes a function's process in group: `edgewatch function
// NAME` with the address, metrics port and configuration a cluster would
// give it.
func processSpec(exe string, s service, host string, state string, group *supervisor.Group) supervisor.Spec {
	addr := s.processAddr(host)
	env := append([]string{
		"LISTEN_ADDRESS=" + addr,
		fmt.Sprintf("METRICS_ADDRESS=%s:%d", host, s.metricsPort),
	}, s.env...)
	return supervisor.Spec{
		Name:      s.name,
		Path:      exe,
		Args:      []string{"function", s.name},
		Env:       env,
		Dir:       state,
		ReadyURL:  "http://" + addr + "/health/readiness",
		Restart:   !s.activated,
		StopGrace: 15 * time.Second,
		Group:     group,
	}
}

// serveMetrics serves the runner's own metrics registry until the returned
// server is closed.
func serveMetrics(addr string, reg *prometheus.Registry) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := boundedServer(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), 10*time.Second, 30*time.Second)
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

// newRegistry returns the runner's registry with the Go and process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// banner prints where everything listens.
func banner(w io.Writer, lines [][2]string, notes []string) {
	width := 0
	for _, l := range lines {
		width = max(width, len(l[0]))
	}
	fmt.Fprintln(w, strings.Repeat("─", 72))
	fmt.Fprintln(w, " edgewatch is running — Ctrl-C stops it")
	for _, l := range lines {
		fmt.Fprintf(w, "  %-*s  %s\n", width, l[0], l[1])
	}
	for _, n := range notes {
		fmt.Fprintln(w, "  ! "+n)
	}
	fmt.Fprintln(w, strings.Repeat("─", 72))
}

// absState makes the state directory and returns its absolute path.
func absState(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return abs, os.MkdirAll(abs, 0o755)
}
