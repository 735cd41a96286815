// Package function is the alert function. It receives detection and caption
// CloudEvents (and every dead letter of the broker), stores them in
// PostgreSQL, folds detections into incidents, answers each newly opened
// incident with a dev.edgewatch.incident.opened reply event, and sends
// notifications from a transactional outbox. docs/alert.md describes it.
package function

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/cloudevents/sdk-go/v2/types"
	_ "github.com/lib/pq" // the "postgres" database/sql driver
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/edgewatch/edgewatch/functions/alert/guard"
	"github.com/edgewatch/edgewatch/functions/alert/incident"
	"github.com/edgewatch/edgewatch/functions/alert/internal/contract"
	"github.com/edgewatch/edgewatch/functions/alert/internal/metricsserver"
	"github.com/edgewatch/edgewatch/functions/alert/lifecycle"
	"github.com/edgewatch/edgewatch/functions/alert/notify"
	"github.com/edgewatch/edgewatch/functions/alert/postgres"
)

// Function is the alert function instance.
type Function struct {
	logger   *slog.Logger
	registry *prometheus.Registry
	client   *http.Client

	metrics       *metrics
	cfg           Config
	db            *sql.DB
	store         *postgres.Store
	dispatcher    *notify.Dispatcher
	events        *lifecycle.Sender
	ready         atomic.Bool
	cancel        context.CancelFunc
	wg            sync.WaitGroup
	metricsServer *metricsserver.Server
	// now is alert's clock: receive times and the closer's.
	now func() time.Time
}

// Deps are alert's dependencies; zero fields get defaults.
type Deps struct {
	// Logger receives structured logs (default: JSON on stderr).
	Logger *slog.Logger
	// Registry holds the metrics, served on METRICS_ADDRESS (default: a new
	// registry with the Go and process collectors).
	Registry *prometheus.Registry
	// HTTPClient carries the notifications (default: a client of its own;
	// each channel bounds its requests by NOTIFY_TIMEOUT).
	HTTPClient *http.Client
}

// New returns an alert instance with default dependencies; func-go calls it.
func New() *Function { return NewWithDeps(Deps{}) }

// NewWithDeps returns an alert instance with the given dependencies.
func NewWithDeps(d Deps) *Function {
	f := &Function{logger: d.Logger, registry: d.Registry, client: d.HTTPClient, now: time.Now}
	if f.logger == nil {
		f.logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if f.registry == nil {
		f.registry = prometheus.NewRegistry()
		f.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if f.client == nil {
		f.client = &http.Client{}
	}
	return f
}

// Guard wraps the CloudEvents handler that hosts this function: request
// bodies larger than contract.MaxEventBytes are refused with 413 before they are read
// whole, and a body that is not one well-formed CloudEvent with 400 (415 for
// a batch), each with the reason in the body and counted in
// edgewatch_alert_events_rejected_total.
func (f *Function) Guard(next http.Handler) http.Handler {
	return guard.Handler(next, guard.Options{MaxBytes: contract.MaxEventBytes, Refused: func(reason string, status int, msg string) {
		if f.metrics != nil {
			f.metrics.rejected.WithLabelValues(reason).Inc()
		}
		f.logger.Warn("alert: refused request", "status", status, "reason", msg)
	}})
}

// Start reads the configuration, opens the database pool and the metrics
// port, and starts migrating in the background; Ready turns true once the
// schema is up to date, and only then are events handled. The background
// closer and the notification dispatcher start with it.
func (f *Function) Start(ctx context.Context, cfg map[string]string) error {
	c, err := ParseConfig(cfg, f.client)
	if err != nil {
		return fmt.Errorf("alert: configuration: %w", err)
	}
	m, err := newMetrics(f.registry)
	if err != nil {
		return fmt.Errorf("alert: metrics: %w", err)
	}
	db, err := sql.Open("postgres", postgres.Tuned(c.DatabaseURL))
	if err != nil {
		return errors.New("alert: DATABASE_URL is not a PostgreSQL connection string")
	}
	db.SetMaxOpenConns(c.MaxConns)
	db.SetMaxIdleConns(c.MaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	opts := postgres.Options{
		Policy: c.Policy, Channels: c.channelsFor, Cooldown: c.Cooldown, NotifyOnClose: c.NotifyOnClose,
	}
	var send lifecycle.SendFunc
	if c.Sink != "" {
		if send, err = sinkSender(f.client, c.Sink); err != nil {
			db.Close()
			return fmt.Errorf("alert: K_SINK: %w", err)
		}
		opts.Events = &postgres.EventOptions{UpdateInterval: c.UpdateInterval, Data: lifecycleData}
	}
	store, err := postgres.New(db, opts)
	if err != nil {
		db.Close()
		return fmt.Errorf("alert: %w", err)
	}
	dc := c.Dispatch
	dc.Outbox, dc.Logger, dc.Notifiers = store.Outbox(), f.logger, map[string]notify.Notifier{}
	dc.Sent, dc.Failed, dc.Retried = m.sent, m.failed, m.retried
	for _, ch := range c.Channels {
		dc.Notifiers[ch.Name] = ch.Notifier
	}
	if f.metricsServer, err = metricsserver.Start(c.MetricsAddress, f.registry, f.logger); err != nil {
		db.Close()
		return fmt.Errorf("alert: metrics address: %w", err)
	}
	f.cfg, f.metrics, f.db, f.store, f.dispatcher = c, m, db, store, notify.NewDispatcher(dc)
	if send != nil {
		ec := c.Events
		ec.Outbox, ec.Send, ec.Logger = store.Events(), send, f.logger
		ec.Sent, ec.Retried, ec.Failed = m.eventsSent, m.eventsRetried, m.eventsFailed
		f.events = lifecycle.NewSender(ec)
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.cancel = cancel
	f.wg.Go(func() { f.run(bg) })
	channels := make([]string, 0, len(c.Channels))
	for _, ch := range c.Channels {
		channels = append(channels, ch.Name)
	}
	m.channels(channels)
	f.logger.Info("alert: started", "gap", c.Policy.Gap, "quiet", c.Policy.Quiet, "horizon", c.Policy.Horizon,
		"max_skew", c.MaxSkew, "min_hits", c.Policy.MinHits,
		"open_score", c.Policy.OpenScore, "channels", channels, "metrics", c.MetricsAddress,
		"incident_events", c.Sink != "", "update_interval", c.UpdateInterval)
	return nil
}

// run migrates (retrying while the database is away), then closes quiet
// incidents and sends notifications until ctx ends.
func (f *Function) run(ctx context.Context) {
	for wait := 200 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		applied, err := postgres.Migrate(ctx, f.db)
		if err == nil {
			if len(applied) > 0 {
				f.logger.Info("alert: schema migrated", "versions", applied)
			}
			break
		}
		f.logger.Warn("alert: migrating failed; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	f.ready.Store(true)
	f.wg.Go(func() { f.dispatcher.Run(ctx) })
	f.dispatcher.Kick()
	if f.events != nil {
		f.wg.Go(func() { f.events.Run(ctx) })
	}
	tick := time.NewTicker(f.cfg.CloseInterval)
	defer tick.Stop()
	for {
		f.closeQuiet(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (f *Function) closeQuiet(ctx context.Context) {
	closed, queued, err := f.store.CloseQuiet(ctx, f.now())
	for _, inc := range closed {
		f.metrics.closed.WithLabelValues(inc.Class).Inc()
		f.logger.Info("alert: incident closed", "incident", inc.ID, "camera", inc.Camera, "class", inc.Class, "hits", inc.Hits)
	}
	if queued {
		f.dispatcher.Kick()
	}
	if len(closed) > 0 {
		f.kickEvents()
	}
	if err != nil && ctx.Err() == nil {
		f.metrics.storeErrors.WithLabelValues(opClose).Inc()
		f.logger.Warn("alert: closing quiet incidents failed", "err", err)
	}
}

// kickEvents asks the incident event sender, if any, to send now.
func (f *Function) kickEvents() {
	if f.events != nil {
		f.events.Kick()
	}
}

// Stop ends the background work and closes the database pool.
func (f *Function) Stop(ctx context.Context) error {
	if f.cancel != nil {
		f.cancel()
	}
	f.wg.Wait()
	var errs []error
	errs = append(errs, f.metricsServer.Shutdown(ctx))
	if f.db != nil {
		errs = append(errs, f.db.Close())
	}
	return errors.Join(errs...)
}

// Ready reports whether the schema is migrated and events can be handled.
func (f *Function) Ready(ctx context.Context) (bool, error) { return f.ready.Load(), nil }

// metricsAddr returns the address the metrics are served on.
func (f *Function) metricsAddr() string {
	return f.metricsServer.Addr()
}

// Handle receives one CloudEvent: a detection, a caption, or a dead letter of
// any type. It answers 400 for input that can never be processed, 503 while
// the database cannot be reached (the broker retries), and replies with
// dev.edgewatch.incident.opened when a detection opens an incident.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	if !f.ready.Load() {
		return nil, cehttp.NewResult(http.StatusServiceUnavailable, "alert is not ready: the database schema is not migrated yet")
	}
	if dest, ok := extension(e, contract.ExtErrorDest); ok {
		if err := f.recordDeadLetter(ctx, e, dest); err != nil {
			return nil, err
		}
		if !strings.HasPrefix(e.Type(), contract.DetectionTypePrefix) && e.Type() != contract.TypeCaptionCreated {
			return nil, nil
		}
	}
	switch {
	case strings.HasPrefix(e.Type(), contract.DetectionTypePrefix):
		return f.handleDetection(ctx, e)
	case e.Type() == contract.TypeCaptionCreated:
		return nil, f.handleCaption(ctx, e)
	default:
		return nil, f.reject(rejectType, "event type %q is not a detection or caption", clip(e.Type()))
	}
}

func (f *Function) reject(reason, format string, args ...any) error {
	f.metrics.rejected.WithLabelValues(reason).Inc()
	msg := fmt.Sprintf(format, args...)
	f.logger.Warn("alert: rejected event", "reason", msg)
	return cehttp.NewResult(http.StatusBadRequest, "%s", msg)
}

func (f *Function) unavailable(op string, err error) error {
	f.metrics.storeErrors.WithLabelValues(op).Inc()
	f.logger.Error("alert: database failure; the broker will retry", "op", op, "err", err)
	return cehttp.NewResult(http.StatusServiceUnavailable, "%s failed: database unavailable", op)
}

func (f *Function) checkJSON(e event.Event) error {
	if ct := e.DataMediaType(); ct != contract.ContentTypeJSON {
		return f.reject(rejectContentType, "content type %q is not %s", clip(ct), contract.ContentTypeJSON)
	}
	return nil
}

func (f *Function) handleDetection(ctx context.Context, e event.Event) (*event.Event, error) {
	class := strings.TrimPrefix(e.Type(), contract.DetectionTypePrefix)
	if !incident.ValidClass(class) {
		return nil, f.reject(rejectType, "event type %q names no incident class", clip(e.Type()))
	}
	if err := f.checkJSON(e); err != nil {
		return nil, err
	}
	d, err := incident.DecodeDetection(e.ID(), class, e.Time(), e.Data())
	if err != nil {
		return nil, f.reject(rejectData, "%v", err)
	}
	d.Source, d.ReceivedAt = e.Source(), f.now().UTC()
	if limit := d.ReceivedAt.Add(f.cfg.MaxSkew); d.DetectedAt.After(limit) {
		f.metrics.clamped.WithLabelValues(class).Inc()
		f.logger.Warn("alert: detection time ahead of alert's clock; clamped to its receive time",
			"id", clip(e.ID()), "camera", d.Camera, "detected_at", d.DetectedAt, "received_at", d.ReceivedAt, "max_skew", f.cfg.MaxSkew)
		d.DetectedAt = d.ReceivedAt
	}
	if cam, ok := extension(e, contract.ExtCamera); ok && cam != d.Camera {
		return nil, f.reject(rejectData, "camera extension %q differs from the data's camera %q", clip(cam), d.Camera)
	}
	start := time.Now()
	out, err := f.store.StoreDetection(ctx, d)
	if err != nil {
		return nil, f.unavailable(opStore, err)
	}
	f.metrics.storeTime.Observe(time.Since(start).Seconds())
	for _, inc := range out.Ended {
		if inc.Status == incident.StatusClosed {
			f.metrics.closed.WithLabelValues(inc.Class).Inc()
		}
	}
	if out.Duplicate {
		f.metrics.duplicates.WithLabelValues(class).Inc()
	} else {
		f.metrics.stored.WithLabelValues(class).Inc()
		if out.Opened {
			f.metrics.opened.WithLabelValues(class).Inc()
			f.logger.Info("alert: incident opened", "incident", out.Incident.ID, "camera", d.Camera, "class", class,
				"hits", out.Incident.Hits, "confidence", out.Incident.MaxConfidence)
		}
	}
	if out.Notify {
		f.dispatcher.Kick()
	}
	if out.Events || len(out.Ended) > 0 {
		f.kickEvents()
	}
	if !out.Opened {
		return nil, nil
	}
	reply, err := openedEvent(out.Incident)
	if err != nil {
		return nil, f.unavailable(opReply, err)
	}
	return reply, nil
}

// openedEvent builds the dev.edgewatch.incident.opened event of inc. Its id
// is deterministic, so a repeated reply (after a redelivery) is recognised
// downstream as the same event.
func openedEvent(inc incident.Incident) (*event.Event, error) {
	data := newIncidentData(inc, true)
	e := event.New()
	e.SetID("incident-" + inc.ID + ".opened")
	e.SetType(contract.TypeIncidentOpened)
	e.SetSource(contract.CameraSource(inc.Camera))
	e.SetSubject(inc.ID)
	e.SetTime(data.OpenedAt)
	e.SetExtension(contract.ExtCamera, inc.Camera)
	e.SetExtension(contract.ExtClass, inc.Class)
	e.SetExtension(contract.ExtIncident, inc.ID)
	if err := e.SetData(contract.ContentTypeJSON, data); err != nil {
		return nil, err
	}
	return &e, nil
}

func (f *Function) handleCaption(ctx context.Context, e event.Event) error {
	if err := f.checkJSON(e); err != nil {
		return err
	}
	c, err := incident.DecodeCaption(e.ID(), e.Data())
	if err != nil {
		return f.reject(rejectData, "%v", err)
	}
	c.Source = e.Source()
	if !captioned(c.Class) {
		return f.reject(rejectCaptionRefused, "%s incidents are not captioned (only knife and gun are): caption refused", c.Class)
	}
	if id, ok := extension(e, contract.ExtIncident); ok && id != c.IncidentID {
		return f.reject(rejectData, "incident extension %q differs from the data's incident_id %q", clip(id), clip(c.IncidentID))
	}
	dup, err := f.store.AttachCaption(ctx, c)
	switch {
	case errors.Is(err, postgres.ErrUnknownIncident):
		return f.reject(rejectUnknownIncident, "%v", err)
	case errors.Is(err, postgres.ErrCaptionRefused):
		return f.reject(rejectCaptionRefused, "%v", err)
	case err != nil:
		return f.unavailable(opCaption, err)
	case dup:
		f.metrics.captionDups.Inc()
	default:
		f.metrics.captions.Inc()
	}
	return nil
}

func (f *Function) recordDeadLetter(ctx context.Context, e event.Event, dest string) error {
	raw, err := json.Marshal(e)
	if err != nil {
		// An event the SDK parsed can always be written back; keep at
		// least its data.
		raw = e.Data()
	}
	dl := postgres.DeadLetter{EventID: e.ID(), Type: e.Type(), Source: e.Source(), ErrorDest: dest, Event: raw, EventBytes: len(raw)}
	if len(raw) > f.cfg.DeadLetterMaxBytes {
		dl.Event, dl.Truncated = raw[:f.cfg.DeadLetterMaxBytes], true
		f.metrics.truncated.Inc()
	}
	if code, ok := extension(e, contract.ExtErrorCode); ok {
		if n, err := strconv.Atoi(code); err == nil {
			dl.ErrorCode = &n
		}
	}
	if data, ok := extension(e, contract.ExtErrorData); ok {
		dl.ErrorData = data
	}
	fresh, err := f.store.RecordDeadLetter(ctx, dl)
	if err != nil {
		return f.unavailable(opDeadLetter, err)
	}
	f.metrics.deadLetters.WithLabelValues(knownType(e.Type())).Inc()
	f.logger.Warn("alert: dead letter", "id", clip(e.ID()), "type", clip(e.Type()), "dest", clip(dest),
		"code", dl.ErrorCode, "new", fresh, "bytes", dl.EventBytes, "truncated", dl.Truncated)
	return nil
}

// captioned reports whether caption describes incidents of class; one of
// any other class never waits for a caption.
func captioned(class string) bool { return class == "knife" || class == "gun" }

// knownType returns t if it is an edgewatch event type, else "other", so a
// metric label cannot grow without bound.
func knownType(t string) string {
	switch t {
	case contract.TypeMotionDetected, contract.TypeDetectionAccident, contract.TypeDetectionFire, contract.TypeDetectionGun,
		contract.TypeDetectionKnife, contract.TypeIncidentOpened, contract.TypeCaptionCreated:
		return t
	}
	return "other"
}

// extension returns an extension attribute as a string.
func extension(e event.Event, name string) (string, bool) {
	v, ok := e.Extensions()[name]
	if !ok {
		return "", false
	}
	s, err := types.ToString(v)
	if err != nil {
		return fmt.Sprint(v), true
	}
	return s, true
}

// clip shortens a value for a log line or an error message.
func clip(s string) string {
	if len(s) > 128 {
		return s[:128] + "…"
	}
	return s
}
