package function

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the alert function's Prometheus collectors.
type metrics struct {
	stored      *prometheus.CounterVec
	duplicates  *prometheus.CounterVec
	opened      *prometheus.CounterVec
	closed      *prometheus.CounterVec
	captions    prometheus.Counter
	rejected    *prometheus.CounterVec
	storeErrors *prometheus.CounterVec
	deadLetters *prometheus.CounterVec
	storeTime   prometheus.Histogram
	sent        *prometheus.CounterVec
	failed      *prometheus.CounterVec
	retried     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		stored: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgewatch_alert_detections_stored_total",
			Help: "Detections stored, by class."}, []string{"class"}),
		duplicates: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgewatch_alert_detections_duplicate_total",
			Help: "Redelivered detections that changed nothing, by class."}, []string{"class"}),
		opened: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgewatch_alert_incidents_opened_total",
			Help: "Incidents opened, by class."}, []string{"class"}),
		closed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgewatch_alert_incidents_closed_total",
			Help: "Incidents closed after their quiet period, by class."}, []string{"class"}),
		captions: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgewatch_alert_captions_attached_total",
			Help: "Caption events attached to their incident."}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgewatch_alert_events_rejected_total",
			Help: "Events answered 4xx, by reason."}, []string{"reason"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgewatch_alert_store_errors_total",
			Help: "Database failures answered 5xx (the broker retries), by operation."}, []string{"op"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgewatch_alert_dead_letters_total",
			Help: "Dead letters received, by event type."}, []string{"type"}),
		storeTime: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "edgewatch_alert_store_seconds",
			Help:    "Time to store one detection and fold it into its incident.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14)}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgewatch_alert_notifications_sent_total",
			Help: "Notifications sent, by channel."}, []string{"channel"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgewatch_alert_notifications_failed_total",
			Help: "Notifications given up on, by channel."}, []string{"channel"}),
		retried: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgewatch_alert_notifications_retried_total",
			Help: "Failed notification attempts that will be retried, by channel."}, []string{"channel"}),
	}
	for _, c := range []prometheus.Collector{m.stored, m.duplicates, m.opened, m.closed, m.captions, m.rejected,
		m.storeErrors, m.deadLetters, m.storeTime, m.sent, m.failed, m.retried} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
