package function

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgewatch/edgewatch/functions/alert/guard"
	"github.com/edgewatch/edgewatch/functions/alert/internal/contract"
	"github.com/edgewatch/edgewatch/functions/alert/lifecycle"
)

// Reasons of edgewatch_alert_events_rejected_total.
const (
	rejectType            = "type"
	rejectContentType     = "content_type"
	rejectData            = "data"
	rejectUnknownIncident = "unknown_incident"
	rejectCaptionRefused  = "caption_refused"
	rejectTooLarge        = guard.ReasonTooLarge
	rejectMalformed       = guard.ReasonMalformed
	rejectBatch           = guard.ReasonBatch
)

// rejectReasons are the values of the reason label of
// edgewatch_alert_events_rejected_total.
var rejectReasons = []string{rejectType, rejectContentType, rejectData, rejectUnknownIncident, rejectCaptionRefused,
	rejectTooLarge, rejectMalformed, rejectBatch}

// Operations of edgewatch_alert_store_errors_total.
const (
	opStore      = "store detection"
	opReply      = "reply"
	opClose      = "close"
	opCaption    = "attach caption"
	opDeadLetter = "record dead letter"
)

// deadLetterTypes are the values of the type label of
// edgewatch_alert_dead_letters_total (knownType maps the rest to "other").
var deadLetterTypes = []string{contract.TypeMotionDetected, contract.TypeDetectionAccident, contract.TypeDetectionFire, contract.TypeDetectionGun,
	contract.TypeDetectionKnife, contract.TypeIncidentOpened, contract.TypeCaptionCreated, "other"}

// metrics are the alert function's Prometheus collectors.
type metrics struct {
	stored        *prometheus.CounterVec
	duplicates    *prometheus.CounterVec
	opened        *prometheus.CounterVec
	closed        *prometheus.CounterVec
	captions      prometheus.Counter
	captionDups   prometheus.Counter
	clamped       *prometheus.CounterVec
	truncated     prometheus.Counter
	rejected      *prometheus.CounterVec
	storeErrors   *prometheus.CounterVec
	deadLetters   *prometheus.CounterVec
	storeTime     prometheus.Histogram
	sent          *prometheus.CounterVec
	failed        *prometheus.CounterVec
	retried       *prometheus.CounterVec
	eventsSent    *prometheus.CounterVec
	eventsRetried *prometheus.CounterVec
	eventsFailed  *prometheus.CounterVec
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
		captionDups: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgewatch_alert_captions_duplicate_total",
			Help: "Redelivered caption events (same source and id) that changed nothing."}),
		clamped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgewatch_alert_detections_clamped_total",
			Help: "Detections whose time was more than MAX_CLOCK_SKEW ahead of alert's clock, clamped to their receive time, by class."},
			[]string{"class"}),
		truncated: prometheus.NewCounter(prometheus.CounterOpts{Name: "edgewatch_alert_dead_letters_truncated_total",
			Help: "Dead letters stored cut to DEAD_LETTER_MAX_BYTES."}),
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
		eventsSent: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgewatch_alert_incident_events_sent_total",
			Help: "Incident lifecycle events (updated, closed) sent to K_SINK, by type."}, []string{"type"}),
		eventsRetried: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgewatch_alert_incident_events_retried_total",
			Help: "Failed sends of incident lifecycle events that will be retried, by type."}, []string{"type"}),
		eventsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "edgewatch_alert_incident_events_failed_total",
			Help: "Incident lifecycle events the sink refused for good (4xx), by type."}, []string{"type"}),
	}
	for _, c := range []prometheus.Collector{m.stored, m.duplicates, m.opened, m.closed, m.captions, m.captionDups,
		m.clamped, m.truncated, m.rejected,
		m.storeErrors, m.deadLetters, m.storeTime, m.sent, m.failed, m.retried,
		m.eventsSent, m.eventsRetried, m.eventsFailed} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Every known label value starts at zero, so that the first rejection,
	// duplicate or failure is an increase that rate() sees.
	for _, c := range contract.Classes() {
		for _, v := range []*prometheus.CounterVec{m.stored, m.duplicates, m.opened, m.closed, m.clamped} {
			v.WithLabelValues(c).Add(0)
		}
	}
	for _, r := range rejectReasons {
		m.rejected.WithLabelValues(r).Add(0)
	}
	for _, op := range []string{opStore, opReply, opClose, opCaption, opDeadLetter} {
		m.storeErrors.WithLabelValues(op).Add(0)
	}
	for _, t := range deadLetterTypes {
		m.deadLetters.WithLabelValues(t).Add(0)
	}
	for _, k := range lifecycle.Kinds() {
		for _, v := range []*prometheus.CounterVec{m.eventsSent, m.eventsRetried, m.eventsFailed} {
			v.WithLabelValues(k).Add(0)
		}
	}
	return m, nil
}

// channels starts the notification counters of the configured channels at
// zero.
func (m *metrics) channels(names []string) {
	for _, n := range names {
		for _, v := range []*prometheus.CounterVec{m.sent, m.failed, m.retried} {
			v.WithLabelValues(n).Add(0)
		}
	}
}
