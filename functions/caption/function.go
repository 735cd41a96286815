// Package function is the caption function. It receives
// dev.edgewatch.incident.opened events of the knife and gun classes, asks a
// vision-language model behind an OpenAI-compatible chat-completions
// endpoint to describe the suspect in the incident's snapshot, and answers
// with a dev.edgewatch.caption.created event, which the broker hands to
// alert. It calls the model at most once per incident in a process, however
// often the incident is delivered. docs/caption.md describes it.
package function

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/edgewatch/edgewatch/functions/caption/dedup"
	"github.com/edgewatch/edgewatch/functions/caption/guard"
	"github.com/edgewatch/edgewatch/functions/caption/internal/contract"
	"github.com/edgewatch/edgewatch/functions/caption/internal/metricsserver"
	"github.com/edgewatch/edgewatch/functions/caption/vlm"
)

// Deps are caption's dependencies; zero fields get defaults.
type Deps struct {
	// Logger receives the function's logs (default: JSON on stderr).
	Logger *slog.Logger
	// Registry receives the function's metrics, served on METRICS_ADDRESS
	// (default: a new registry with the Go and process collectors).
	Registry *prometheus.Registry
	// HTTPClient carries the VLM requests (default: a client of its own).
	// Each call is bounded by VLM_TIMEOUT through its context.
	HTTPClient *http.Client
	// Now tells the time of captions (default time.Now).
	Now func() time.Time
}

// Function is the caption function instance.
type Function struct {
	log    *slog.Logger
	reg    *prometheus.Registry
	client *http.Client
	now    func() time.Time

	svc     atomic.Pointer[service]
	metrics *metricsserver.Server
}

// New returns a caption instance with default dependencies; func-go calls
// it.
func New() *Function { return NewWithDeps(Deps{}) }

// NewWithDeps returns a caption instance with the given dependencies.
func NewWithDeps(d Deps) *Function {
	f := &Function{log: d.Logger, reg: d.Registry, client: d.HTTPClient, now: d.Now}
	if f.log == nil {
		f.log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if f.reg == nil {
		f.reg = prometheus.NewRegistry()
		f.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if f.now == nil {
		f.now = time.Now
	}
	return f
}

// Start reads the configuration, starts the metrics server and makes the
// function ready. A malformed value is an error (func-go then stops the
// process); a missing VLM_URL is not: the function then logs that it is not
// configured and answers every incident 503, so that incidents end on the
// dead-letter sink rather than being acknowledged without a caption.
func (f *Function) Start(ctx context.Context, cfg map[string]string) error {
	c, err := parseConfig(cfg)
	if err != nil {
		f.log.Error("caption: bad configuration", "err", err)
		return err
	}
	m, err := newMetrics(f.reg)
	if err != nil {
		return err
	}
	if f.metrics, err = metricsserver.Start(c.MetricsAddress, f.reg, f.log); err != nil {
		f.log.Error("caption: cannot serve metrics", "address", c.MetricsAddress, "err", err)
		return err
	}
	if f.metrics != nil {
		f.log.Info("caption: serving metrics", "address", f.metrics.Addr())
	}
	svc := &service{
		cfg: c, log: f.log, metrics: m, now: f.now,
		group: dedup.New[*event.Event](c.CacheSize, c.CacheTTL, f.now),
	}
	if c.configured() {
		if svc.client, err = vlm.NewClient(c.URL, c.APIKey, f.httpClient()); err != nil {
			return err
		}
		f.log.Info("caption: ready", "config", c)
	} else {
		f.log.Warn("caption: not configured, "+KeyVLMURL+" is not set; every incident will be answered 503 "+
			"and end on the dead-letter sink", "config", c)
	}
	f.svc.Store(svc)
	return nil
}

// httpClient returns the injected client or one with bounded connection set-up.
func (f *Function) httpClient() *http.Client {
	if f.client != nil {
		return f.client
	}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		MaxIdleConns:          32,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}}
}

// Guard wraps the CloudEvents handler that hosts this function: request
// bodies larger than MaxEventBytes are refused with 413 before they are read
// whole, and a body that is not one well-formed CloudEvent with 400 (415 for
// a batch), each with the reason in the body, logged and counted as
// bad_input in edgewatch_caption_events_total.
func (f *Function) Guard(next http.Handler) http.Handler {
	return guard.Handler(next, guard.Options{MaxBytes: contract.MaxEventBytes, Refused: func(reason string, status int, msg string) {
		if svc := f.svc.Load(); svc != nil {
			svc.metrics.events.WithLabelValues(outcomeBadInput).Inc()
		}
		f.log.Warn("caption: refused request", "status", status, "reason", msg)
	}})
}

// Ready reports whether Start has finished.
func (f *Function) Ready(ctx context.Context) (bool, error) {
	return f.svc.Load() != nil, nil
}

// MetricsAddr returns the address the metrics server listens on, or "" when
// it does not run (METRICS_ADDRESS=off, or before Start).
func (f *Function) MetricsAddr() string { return f.metrics.Addr() }

// Stop stops the metrics server.
func (f *Function) Stop(ctx context.Context) error { return f.metrics.Shutdown(ctx) }

// Handle captions one incident.opened event. It answers the caption event,
// or an error carrying the HTTP status the broker sees: 400 for input that
// cannot be captioned, 5xx when trying again may help.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	svc := f.svc.Load()
	if svc == nil {
		return nil, cehttp.NewResult(http.StatusServiceUnavailable, "caption is starting")
	}
	return svc.handle(ctx, e)
}
