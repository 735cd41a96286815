package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edgewatch/edgewatch/internal/activator"
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
	stateDir    string
	idle        time.Duration
	noMotion    bool
	uid         string
	metricsPort int
	teardown    bool
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
	fs.StringVar(&o.stateDir, "state", "out/local", "directory for generated models, clips and logs")
	fs.DurationVar(&o.idle, "scale-to-zero-after", 60*time.Second, "stop detect after this long without events (0 keeps it up)")
	fs.StringVar(&o.uid, "uid", "local", "suffix of every RabbitMQ object name (Knative's broker UID)")
	fs.IntVar(&o.metricsPort, "metrics-port", 9400, "port of the broker's and runner's Prometheus metrics")
	fs.BoolVar(&o.teardown, "teardown", false, "delete the broker's RabbitMQ exchanges and queues on exit (queued events are lost)")
	fs.BoolVar(&o.noMotion, "no-motion", false, "do not start motion-source (send events with curl or edgewatch send)")
	err := fs.Parse(args)
	return o, err
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

// checkPort fails early with a clear message when a port is taken.
func checkPort(host string, port int) error {
	ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", host, port))
	if err != nil {
		return fmt.Errorf("port %d is taken (another edgewatch up?): %w", port, err)
	}
	return ln.Close()
}

// processSpec describes a function's process: `edgewatch function NAME`
// with the address, metrics port and configuration a cluster would give it.
func processSpec(exe string, s service, host string, state string) supervisor.Spec {
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
	}
}

// serveMetrics serves the runner's own metrics registry.
func serveMetrics(ctx context.Context, addr string, reg *prometheus.Registry) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), ReadHeaderTimeout: 5 * time.Second}
	go func() { <-ctx.Done(); _ = srv.Close() }()
	go func() { _ = srv.Serve(ln) }()
	return nil
}

// newRegistry returns the runner's registry with the Go and process collectors.
func newRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// launcher starts the local functions and reports the activator's scaling
// on the runner's metrics, as Knative's autoscaler metrics do on a cluster.
type launcher struct {
	log       *slog.Logger
	exe, host string
	state     string
	idle      time.Duration
	out       io.Writer
	scales    *prometheus.CounterVec
	coldStart *prometheus.HistogramVec
	up        *upTime
}

func newLauncher(log *slog.Logger, reg prometheus.Registerer, exe, host, state string, idle time.Duration, out io.Writer) *launcher {
	l := &launcher{log: log, exe: exe, host: host, state: state, idle: idle, out: out,
		scales: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_runner_scale_events_total",
			Help: "Local scale-from-zero (direction up) and scale-to-zero (down) events per function.",
		}, []string{"function", "direction"}),
		coldStart: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edgewatch_runner_cold_start_seconds",
			Help:    "Time from the first held request to a ready function after a scale from zero.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
		}, []string{"function"}),
	}
	l.up = newUpTime(time.Now)
	reg.MustRegister(l.scales, l.coldStart, l.up)
	return l
}

// start starts every plain service and waits for each to be ready;
// activated ones get an activator on their public port instead. It returns
// the stop functions of what it started, also on error.
func (l *launcher) start(ctx context.Context, services []service) ([]func(), error) {
	var stops []func()
	for _, s := range services {
		p := supervisor.New(processSpec(l.exe, s, l.host, l.state), l.log, l.out)
		if s.activated {
			stop, err := l.activate(ctx, s, p)
			if err != nil {
				return stops, err
			}
			stops = append(stops, stop)
			continue
		}
		if err := p.Start(ctx); err != nil {
			return stops, err
		}
		stops = append(stops, func() { _ = p.Stop() })
		readyCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		err := p.WaitReady(readyCtx)
		cancel()
		if err != nil {
			return stops, err
		}
	}
	return stops, nil
}

// activate serves an activator for the process on the service's public port.
func (l *launcher) activate(ctx context.Context, s service, p *supervisor.Process) (func(), error) {
	target, err := url.Parse("http://" + s.processAddr(l.host))
	if err != nil {
		return nil, err
	}
	l.up.track(s.name)
	// Both directions and the cold-start histogram exist from the start,
	// so that the first scale event is an increase that rate() sees.
	l.scales.WithLabelValues(s.name, "up").Add(0)
	l.scales.WithLabelValues(s.name, "down").Add(0)
	l.coldStart.WithLabelValues(s.name)
	a := activator.New(activator.Config{Target: target, Backend: p, IdleTimeout: l.idle,
		Logger: l.log.With("activator", s.name),
		OnScale: func(replicas int, took time.Duration) {
			l.up.scaled(s.name, replicas, took)
			if replicas == 0 {
				l.scales.WithLabelValues(s.name, "down").Inc()
				return
			}
			l.scales.WithLabelValues(s.name, "up").Inc()
			l.coldStart.WithLabelValues(s.name).Observe(took.Seconds())
		}})
	ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", l.host, s.port))
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: a, ReadHeaderTimeout: 10 * time.Second}
	actx, cancel := context.WithCancel(ctx)
	go a.Run(actx)
	go func() { _ = srv.Serve(ln) }()
	return func() { _ = srv.Close(); cancel(); _ = p.Stop() }, nil
}

// stopAll runs the stop functions in reverse order of starting.
func stopAll(stops []func()) {
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
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

// runUp runs the whole pipeline until ctx ends.
func runUp(ctx context.Context, log *slog.Logger, args []string) error {
	o, err := parseUp(args)
	if err != nil {
		return err
	}
	state, err := absState(o.stateDir)
	if err != nil {
		return err
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	p, err := planPipeline(ctx, log, o, state)
	if err != nil {
		return err
	}
	defer p.close()
	for _, s := range p.services {
		if err := checkPort(o.host, s.port); err != nil {
			return err
		}
	}

	reg := newRegistry()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	lb, err := startBroker(runCtx, log, reg, brokerOptions{
		addr:        fmt.Sprintf("%s:%d", o.host, o.brokerPort),
		amqpURL:     o.amqpURL,
		uid:         o.uid,
		triggersDir: o.triggersDir,
		services:    p.serviceURLs(o.host),
	})
	if err != nil {
		return err
	}
	launch := newLauncher(log, reg, exe, o.host, state, o.idle, os.Stdout)
	stops, err := launch.start(runCtx, p.services)
	defer func() {
		launch.up.summary(os.Stdout)
		stopAll(stops)
		cancel()
		if err := lb.stop(); err != nil {
			log.Error("broker stopped with an error", "err", err)
		}
		if o.teardown {
			tctx, tcancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer tcancel()
			if err := lb.b.Teardown(tctx); err != nil {
				log.Error("teardown", "err", err)
			}
		}
	}()
	if err != nil {
		return err
	}
	if err := serveMetrics(runCtx, fmt.Sprintf("%s:%d", o.host, o.metricsPort), reg); err != nil {
		return err
	}
	banner(os.Stdout, p.bannerLines(o, lb.url), p.notes)
	<-ctx.Done()
	log.Info("stopping")
	return nil
}
