package function

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/edgewatch/edgewatch/functions/dashboard/web"
)

// newRegistry returns the dashboard's metrics: the Go runtime's, the
// process's, the number of open event streams and of login sessions, read
// from streams and sessions at each scrape, and the login outcomes, every
// outcome at zero from the start.
func newRegistry(streams, sessions func() int) (*prometheus.Registry, *prometheus.CounterVec) {
	logins := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgewatch_dashboard_logins_total",
		Help: "Logins by outcome: ok (a session opened), failed (wrong credentials on the form, as a bearer token or basic auth), limited (refused with 429 after too many failures).",
	}, []string{"outcome"})
	for _, o := range []string{web.LoginOK, web.LoginFailed, web.LoginLimited} {
		logins.WithLabelValues(o)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "edgewatch_dashboard_event_streams",
			Help: "Browsers connected to the live event stream (/api/events).",
		}, func() float64 { return float64(streams()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "edgewatch_dashboard_sessions",
			Help: "Login sessions open (idle and absolute expiry dropped).",
		}, func() float64 { return float64(sessions()) }),
		logins)
	return reg, logins
}

// metricsHandler serves g at GET /metrics and refuses anything else with
// the reason.
func metricsHandler(g prometheus.Gatherer) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method "+r.Method+" not allowed: metrics are read with GET", http.StatusMethodNotAllowed)
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not found: this port serves /metrics only", http.StatusNotFound)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 {
			http.Error(w, "a metrics request has no body", http.StatusRequestEntityTooLarge)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// serveMetrics listens on addr and serves h there until stop is called; it
// returns the bound address (useful with port 0).
func serveMetrics(addr string, h http.Handler, logger *slog.Logger) (string, func(context.Context) error, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("dashboard: metrics server stopped", "err", err)
		}
	}()
	return ln.Addr().String(), srv.Shutdown, nil
}
