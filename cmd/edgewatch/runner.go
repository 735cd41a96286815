package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgewatch/edgewatch/internal/activator"
	"github.com/edgewatch/edgewatch/internal/broker"
	"github.com/edgewatch/edgewatch/internal/httpserver"
	"github.com/edgewatch/edgewatch/internal/localbroker"
	"github.com/edgewatch/edgewatch/internal/supervisor"
)

// runner is one `edgewatch up`. It records what it has started, so that a
// stop at any moment, start-up included, stops exactly that, in order.
type runner struct {
	log        *slog.Logger
	o          upOptions
	exe, state string
	out        io.Writer
	reg        *prometheus.Registry
	group      *supervisor.Group
	scales     *prometheus.CounterVec
	coldStart  *prometheus.HistogramVec
	up         *upTime // activated functions' up-time, for the savings line at stop

	plan       *pipeline
	senders    *broker.Senders // who may send what, and each sender's token
	sink       net.Listener    // the internal ingress, the functions' K_SINK
	broker     *localbroker.Broker
	stopBroker context.CancelFunc // ends the broker's Run
	sources    []unit             // functions that send events of their own
	functions  []unit             // functions that answer events
	metrics    *http.Server

	mu     sync.Mutex
	killed []string // what the stop had to kill, "name (pid N)"
}

// unit is one started function and how to stop it by a deadline.
type unit struct {
	name string
	stop func(ctx context.Context) error
	// pid is the function's process id, 0 while it does not run.
	pid func() int
}

func newRunner(log *slog.Logger, o upOptions, exe, state string, out io.Writer) *runner {
	r := &runner{log: log, o: o, exe: exe, state: state, out: out, reg: httpserver.NewRegistry(), group: supervisor.NewGroup(),
		stopBroker: func() {},
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
	r.up = newUpTime(time.Now)
	r.reg.MustRegister(r.scales, r.coldStart, r.up)
	return r
}

// start prepares the pipeline and starts it in dependency order: the
// functions that answer events, each ready before the next, then the broker
// (whose dispatchers deliver at once what an earlier run left queued), then
// the sources, which send to the broker. It returns ctx's error as soon as
// ctx ends; what it started is then recorded for stop.
func (r *runner) start(ctx context.Context) error {
	plan, err := planPipeline(ctx, r.log, r.o, r.state)
	if err != nil {
		return err
	}
	r.plan = plan
	if r.senders, err = loadSenders(r.state, r.o.triggersDir, r.o.policiesDir); err != nil {
		return err
	}
	plan.extra = append(plan.extra, [2]string{"operator token", operatorTokenPath(r.state) +
		` (curl -H "Authorization: Bearer $(cat FILE)" …)`})
	// The functions send to an ingress of their own, which stays open while
	// the broker stops so that their work in flight can finish.
	if r.sink, err = net.Listen("tcp", r.o.host+":0"); err != nil {
		return fmt.Errorf("internal broker ingress: %w", err)
	}
	if err := r.startServices(ctx, false); err != nil {
		return err
	}
	brokerCtx, stopBroker := context.WithCancel(context.Background())
	r.stopBroker = stopBroker
	r.broker, err = localbroker.Start(ctx, brokerCtx, r.log, r.reg, localbroker.Options{
		Addr:        fmt.Sprintf("%s:%d", r.o.host, r.o.brokerPort),
		AMQPURL:     r.o.amqpURL,
		UID:         r.o.uid,
		TriggersDir: r.o.triggersDir,
		Services:    plan.serviceURLs(r.o.host),
		StopTimeout: dispatchBound(r.o.stopTimeout),
		Internal:    r.sink,
		ReadTimeout: r.o.readTimeout,
		Senders:     r.senders,
	})
	if err != nil {
		return err
	}
	if err := r.startServices(ctx, true); err != nil {
		return err
	}
	r.metrics, err = httpserver.ServeMetrics(fmt.Sprintf("%s:%d", r.o.host, r.o.metricsPort), r.reg)
	return err
}

// startServices starts the sources or the other functions of the plan.
func (r *runner) startServices(ctx context.Context, sources bool) error {
	for _, s := range r.plan.services {
		if s.source != sources {
			continue
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := r.startService(ctx, s); err != nil {
			return err
		}
	}
	return nil
}

// startService starts one function and waits until it is ready; an
// activated one gets an activator on its public port instead.
func (r *runner) startService(ctx context.Context, s service) error {
	// Sources send to the broker's ingress, the others to the internal one;
	// either way with their own token.
	sink := fmt.Sprintf("http://%s:%d/", r.o.host, r.o.brokerPort)
	if !s.source {
		sink = "http://" + r.sink.Addr().String() + "/"
	}
	sink, err := sinkWithToken(sink, s.name, r.senders.Tokens[s.name])
	if err != nil && hasSink(s.env) {
		return fmt.Errorf("%s sends events but no EventPolicy names it: %w", s.name, err)
	}
	s.env = withSink(s.env, sink)
	p := supervisor.New(processSpec(r.exe, s, r.o.host, r.state, r.group), r.log, r.out)
	if s.activated {
		u, err := r.activate(s, p)
		if err == nil {
			r.functions = append(r.functions, u)
		}
		return err
	}
	if err := p.Start(ctx); err != nil {
		return err
	}
	u := unit{name: s.name, stop: p.StopContext, pid: p.PID}
	if s.source {
		r.sources = append(r.sources, u)
	} else {
		r.functions = append(r.functions, u)
	}
	readyCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	return p.WaitReady(readyCtx)
}

// activate serves an activator for the process on the service's public
// port, and reports its scaling on the runner's metrics as Knative's
// autoscaler metrics do on a cluster.
func (r *runner) activate(s service, p *supervisor.Process) (unit, error) {
	target, err := url.Parse("http://" + s.processAddr(r.o.host))
	if err != nil {
		return unit{}, err
	}
	// Both directions and the cold-start histogram exist from the start,
	// so that the first scale event is an increase that rate() sees.
	r.scales.WithLabelValues(s.name, "up").Add(0)
	r.scales.WithLabelValues(s.name, "down").Add(0)
	r.coldStart.WithLabelValues(s.name)
	r.up.track(s.name)
	a := activator.New(activator.Config{Target: target, Backend: p, IdleTimeout: r.o.idle, StartTimeout: activatorStartTimeout,
		Logger: r.log.With("activator", s.name),
		OnScale: func(replicas int, took time.Duration) {
			r.up.scaled(s.name, replicas, took)
			if replicas == 0 {
				r.scales.WithLabelValues(s.name, "down").Inc()
				return
			}
			r.scales.WithLabelValues(s.name, "up").Inc()
			r.coldStart.WithLabelValues(s.name).Observe(took.Seconds())
		}})
	ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", r.o.host, s.port))
	if err != nil {
		return unit{}, err
	}
	// A held request may wait for a cold start and then the function's work.
	srv := httpserver.Bounded(a, r.o.readTimeout, r.o.readTimeout+activatorStartTimeout+time.Minute)
	actx, cancel := context.WithCancel(context.Background())
	go a.Run(actx)
	go func() { _ = srv.Serve(ln) }()
	return unit{name: s.name, stop: func(ctx context.Context) error {
		_ = srv.Close()
		cancel()
		return p.StopContext(ctx)
	}, pid: p.PID}, nil
}

// activatorStartTimeout bounds how long a request waits for a cold start.
const activatorStartTimeout = 2 * time.Minute

// hasSink reports whether env sets K_SINK.
func hasSink(env []string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, "K_SINK=") {
			return true
		}
	}
	return false
}

// withSink returns env with K_SINK, when set, pointing at sink.
func withSink(env []string, sink string) []string {
	out := make([]string, len(env))
	for i, kv := range env {
		if strings.HasPrefix(kv, "K_SINK=") {
			kv = "K_SINK=" + sink
		}
		out[i] = kv
	}
	return out
}
