// Package metricsserver serves a function's Prometheus registry at /metrics
// on a port of its own (METRICS_ADDRESS), apart from the function's
// CloudEvents port, so that a scrape never waits behind events and the
// function's own handler never serves metrics.
//
// Every function module holds an identical copy of this package (modules
// build alone and cannot share code); the root module's
// TestSharedCopiesIdentical fails when the copies differ. Edit
// functions/alert/internal/metricsserver and copy it to the others.
package metricsserver

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Off is the METRICS_ADDRESS that serves no metrics.
const Off = "off"

// Server is a running metrics server. A nil *Server (METRICS_ADDRESS=off)
// has no address and shuts down at once.
type Server struct {
	srv  *http.Server
	addr string
}

// Start listens on addr and serves g there until Shutdown. It returns once
// it listens, so a taken port is the caller's error; addr Off serves
// nothing and returns a nil Server.
func Start(addr string, g prometheus.Gatherer, log *slog.Logger) (*Server, error) {
	if addr == Off {
		return nil, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: Handler(g), ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 2 * time.Minute, MaxHeaderBytes: 16 << 10}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	return &Server{srv: srv, addr: ln.Addr().String()}, nil
}

// Addr returns the address the server listens on (useful with port 0), or
// "" when none runs.
func (s *Server) Addr() string {
	if s == nil {
		return ""
	}
	return s.addr
}

// Shutdown stops the server, waiting for scrapes in flight until ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	if s == nil {
		return nil
	}
	return s.srv.Shutdown(ctx)
}

// Handler serves g at GET (and HEAD) /metrics; it refuses other methods with
// 405, other paths with 404 and a request with a body with 413, each with
// the reason.
func Handler(g prometheus.Gatherer) http.Handler {
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
