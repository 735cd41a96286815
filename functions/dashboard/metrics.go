package function

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgewatch/edgewatch/functions/dashboard/web"
)

// registerMetrics registers the dashboard's metrics on reg: the number of
// open event streams and of login sessions, read from streams and sessions
// at each scrape, and the login outcomes, every outcome at zero from the
// start. It returns the login counter.
func registerMetrics(reg *prometheus.Registry, streams, sessions func() int) *prometheus.CounterVec {
	logins := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "edgewatch_dashboard_logins_total",
		Help: "Logins by outcome: ok (a session opened), failed (wrong credentials on the form, as a bearer token or basic auth), limited (refused with 429 after too many failures).",
	}, []string{"outcome"})
	for _, o := range []string{web.LoginOK, web.LoginFailed, web.LoginLimited} {
		logins.WithLabelValues(o)
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "edgewatch_dashboard_event_streams",
			Help: "Browsers connected to the live event stream (/api/events).",
		}, func() float64 { return float64(streams()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "edgewatch_dashboard_sessions",
			Help: "Login sessions open (idle and absolute expiry dropped).",
		}, func() float64 { return float64(sessions()) }),
		logins)
	return logins
}
