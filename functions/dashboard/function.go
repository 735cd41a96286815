// Package function is the dashboard function: the live incident map. It
// serves a Leaflet map page, a JSON API of incidents and their snapshots,
// and server-sent events fed by PostgreSQL LISTEN/NOTIFY, reading the alert
// function's database read-only. docs/alert.md describes it.
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
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	_ "github.com/lib/pq" // the "postgres" database/sql driver
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/edgewatch/edgewatch/functions/dashboard/incidentreader"
	"github.com/edgewatch/edgewatch/functions/dashboard/internal/metricsserver"
	"github.com/edgewatch/edgewatch/functions/dashboard/live"
	"github.com/edgewatch/edgewatch/functions/dashboard/web"
)

// Function is the dashboard function instance.
type Function struct {
	logger *slog.Logger

	handler atomic.Pointer[http.Handler]
	hub     atomic.Pointer[live.Hub]
	ready   atomic.Bool
	db      *sql.DB
	cancel  context.CancelFunc
	signals chan os.Signal
	wg      sync.WaitGroup

	sessions atomic.Pointer[web.Sessions]
	logins   *prometheus.CounterVec

	registry *prometheus.Registry
	metrics  *metricsserver.Server
}

// Deps are the dashboard's dependencies; zero fields get defaults.
type Deps struct {
	// Logger receives structured logs (default: JSON on stderr).
	Logger *slog.Logger
	// Registry holds the metrics, served on METRICS_ADDRESS (default: a new
	// registry with the Go and process collectors).
	Registry *prometheus.Registry
}

// New returns a dashboard instance with default dependencies; func-go calls
// it.
func New() *Function { return NewWithDeps(Deps{}) }

// NewWithDeps returns a dashboard instance with the given dependencies.
func NewWithDeps(d Deps) *Function {
	f := &Function{logger: d.Logger, registry: d.Registry}
	if f.logger == nil {
		f.logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if f.registry == nil {
		f.registry = prometheus.NewRegistry()
		f.registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	f.logins = registerMetrics(f.registry, f.streams, f.sessionCount)
	return f
}

// sessionCount returns how many login sessions are open.
func (f *Function) sessionCount() int {
	if s := f.sessions.Load(); s != nil {
		return s.Len()
	}
	return 0
}

// streams returns how many event streams are open.
func (f *Function) streams() int {
	if h := f.hub.Load(); h != nil {
		return h.Subscribers()
	}
	return 0
}

// Start reads the configuration and opens a read-only database pool; a
// background task waits until alert has migrated the schema, then starts
// the live feed and turns Ready true.
func (f *Function) Start(ctx context.Context, cfg map[string]string) error {
	c, err := ParseConfig(cfg)
	if err != nil {
		return fmt.Errorf("dashboard: configuration: %w", err)
	}
	dsn := incidentreader.ReadOnly(c.DatabaseURL)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return errors.New("dashboard: DATABASE_URL is not a PostgreSQL connection string")
	}
	db.SetMaxOpenConns(8)
	if f.metrics, err = metricsserver.Start(c.MetricsAddress, f.registry, f.logger); err != nil {
		db.Close()
		return fmt.Errorf("dashboard: metrics address: %w", err)
	}
	f.db = db
	if !c.Auth.Enabled() {
		f.logger.Warn("dashboard: no DASHBOARD_TOKEN or DASHBOARD_USER set: the map is open to anyone who can reach it")
	}
	bg, cancel := context.WithCancel(context.WithoutCancel(ctx))
	f.cancel = cancel
	f.wg.Go(func() { f.run(bg, c, dsn) })
	// The runtime shuts its server down on SIGTERM before it calls Stop,
	// and that waits for every open request: end the event streams first.
	f.signals = make(chan os.Signal, 1)
	signal.Notify(f.signals, syscall.SIGTERM, os.Interrupt)
	f.wg.Go(func() {
		select {
		case <-f.signals:
			if h := f.hub.Load(); h != nil {
				h.Close()
			}
		case <-bg.Done():
		}
	})
	return nil
}

func (f *Function) run(ctx context.Context, c Config, dsn string) {
	reader := incidentreader.NewReader(f.db)
	for wait := 200 * time.Millisecond; ; wait = min(2*wait, 5*time.Second) {
		ok, err := reader.SchemaReady(ctx)
		if ok {
			break
		}
		f.logger.Info("dashboard: waiting for alert to migrate the schema", "err", err, "retry_in", wait)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
	channel, err := reader.Channel(ctx)
	for err != nil {
		f.logger.Warn("dashboard: reading the schema name failed", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
		channel, err = reader.Channel(ctx)
	}
	hub := live.NewHub(dsn, channel, func(ctx context.Context, id string) ([]byte, bool, error) {
		inc, err := reader.Get(ctx, id)
		if errors.Is(err, incidentreader.ErrNotFound) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, err
		}
		b, err := json.Marshal(inc)
		return b, err == nil, err
	}, f.logger)
	sessions := web.NewSessions(c.Sessions, nil)
	f.sessions.Store(sessions)
	srv, err := web.New(reader, hub, c.Auth, c.Map, f.logger, web.Options{Sessions: sessions,
		Limiter: web.NewLimiter(c.Limit, nil), Logins: func(o string) { f.logins.WithLabelValues(o).Inc() }})
	if err != nil {
		f.logger.Error("dashboard: cannot build the server", "err", err)
		return
	}
	var h http.Handler = srv
	f.hub.Store(hub)
	f.handler.Store(&h)
	f.ready.Store(true)
	f.logger.Info("dashboard: ready", "channel", channel, "auth", c.Auth.Enabled())
	for ctx.Err() == nil {
		if err := hub.Run(ctx); err != nil {
			f.logger.Warn("dashboard: live feed stopped; restarting", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(2 * time.Second):
			}
		}
	}
}

// Stop ends the live feed and closes the database pool.
func (f *Function) Stop(ctx context.Context) error {
	if f.signals != nil {
		signal.Stop(f.signals)
	}
	if f.cancel != nil {
		f.cancel()
	}
	f.wg.Wait()
	var errs []error
	errs = append(errs, f.metrics.Shutdown(ctx))
	if f.db != nil {
		errs = append(errs, f.db.Close())
	}
	return errors.Join(errs...)
}

// Ready reports whether the schema is there and the map can be served.
func (f *Function) Ready(ctx context.Context) (bool, error) { return f.ready.Load(), nil }

// Handle serves the map, the API and the event stream.
func (f *Function) Handle(w http.ResponseWriter, r *http.Request) {
	h := f.handler.Load()
	if h == nil {
		http.Error(w, "the dashboard is waiting for the incident database", http.StatusServiceUnavailable)
		return
	}
	(*h).ServeHTTP(w, r)
}
