// Package demo declares metrics the way edgewatch's functions do, for the
// validator's tests.
package demo

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the demo's metrics.
type Metrics struct {
	Frames   *prometheus.CounterVec
	Duration prometheus.Histogram
}

// NewMetrics registers the metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Frames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_demo_frames_total",
			Help: "Frames read.",
		}, []string{"camera"}),
		Duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "edgewatch_demo_duration_seconds",
			Help: "Time per frame.",
		}),
	}
	reg.MustRegister(m.Frames, m.Duration)
	return m
}
