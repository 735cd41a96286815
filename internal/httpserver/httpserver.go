// Package httpserver builds the HTTP servers the local runner starts: each
// with a deadline on every phase of a request, so that a slow or stalled
// client cannot hold a connection open.
package httpserver

import (
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultReadTimeout bounds how long a client may take to send one whole
// request, body included, to a server the runner starts. A client that
// trickles its body (slowloris) is cut off after it.
const DefaultReadTimeout = 15 * time.Second

// IdleTimeout is how long a kept-alive connection may wait for its next
// request.
const IdleTimeout = 2 * time.Minute

// Bounded returns a server for h whose every phase has a deadline: the
// header within min(read, 10 s), the whole request within read, the
// response within write of the header's end (so write must cover read and
// the handler's own work), and an idle connection within IdleTimeout.
func Bounded(h http.Handler, read, write time.Duration) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: min(read, 10*time.Second), ReadTimeout: read,
		WriteTimeout: write, IdleTimeout: IdleTimeout}
}

// ServeMetrics serves reg on addr until the returned server is closed.
func ServeMetrics(addr string, reg *prometheus.Registry) (*http.Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	srv := Bounded(promhttp.HandlerFor(reg, promhttp.HandlerOpts{}), 10*time.Second, 30*time.Second)
	go func() { _ = srv.Serve(ln) }()
	return srv, nil
}

// NewRegistry returns a registry with the Go and process collectors.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
