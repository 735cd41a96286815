package broker

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Values of the stage label: which destination a dispatcher delivers to.
const (
	stageSubscriber     = "subscriber"
	stageDeadLetterSink = "dead_letter_sink"
)

// Values of the outcome label of edgewatch_broker_dispatch_outcomes_total.
const (
	outcomeDelivered    = "delivered"     // 2xx, reply (if any) forwarded
	outcomeRefused      = "refused"       // a non-retryable status (e.g. 400): acked, as upstream does
	outcomeDeadLettered = "dead_lettered" // retries spent, published to the dead-letter exchange
	outcomeRequeued     = "requeued"      // nacked with requeue (stop, dead-letter sink down, DLX publish failed)
	outcomeReplyDropped = "reply_dropped" // the dead-letter sink took the event, its reply could not be forwarded
)

// outcomesByStage are the outcomes each stage can end a message with.
var outcomesByStage = map[string][]string{
	stageSubscriber:     {outcomeDelivered, outcomeRefused, outcomeDeadLettered, outcomeRequeued},
	stageDeadLetterSink: {outcomeDelivered, outcomeRefused, outcomeRequeued, outcomeReplyDropped},
}

// Values of the reason label of edgewatch_broker_ingress_rejected_total.
const (
	rejectMethod        = "method"
	rejectPath          = "path"
	rejectTooLarge      = "too_large"
	rejectInvalidEvent  = "invalid_event"
	rejectUnavailable   = "unavailable"
	rejectPublishFailed = "publish_failed"
	rejectUnauthorized  = "unauthenticated"
	rejectForbidden     = "forbidden"
)

// metrics are the broker's Prometheus collectors.
type metrics struct {
	ingressAccepted prometheus.Counter
	ingressRejected *prometheus.CounterVec
	publishDuration prometheus.Histogram
	attempts        *prometheus.CounterVec
	failedAttempts  *prometheus.CounterVec
	outcomes        *prometheus.CounterVec
	dispatchLatency *prometheus.HistogramVec
	deadLetters     *prometheus.CounterVec
	unparsable      *prometheus.CounterVec
	reconnects      prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	latency := []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}
	m := &metrics{
		ingressAccepted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgewatch_broker_ingress_accepted_total",
			Help: "Events the broker ingress accepted (202) after RabbitMQ confirmed them.",
		}),
		ingressRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_broker_ingress_rejected_total",
			Help: "Requests the broker ingress refused, by reason (method, path, too_large, invalid_event, unavailable, publish_failed).",
		}, []string{"reason"}),
		publishDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "edgewatch_broker_publish_duration_seconds",
			Help:    "Time from publish to RabbitMQ's confirm, for ingress and dead-letter publishes.",
			Buckets: latency,
		}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_broker_dispatch_attempts_total",
			Help: "HTTP delivery attempts by trigger, stage and status code (-1 for a network error or timeout).",
		}, []string{"trigger", "stage", "code"}),
		failedAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_broker_dispatch_failed_attempts_total",
			Help: "HTTP delivery attempts that failed (a status other than 2xx, a network error or a timeout), by trigger and stage.",
		}, []string{"trigger", "stage"}),
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_broker_dispatch_outcomes_total",
			Help: "Final outcome of each dispatched message by trigger and stage (delivered, refused, dead_lettered, requeued, reply_dropped).",
		}, []string{"trigger", "stage", "outcome"}),
		dispatchLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edgewatch_broker_dispatch_duration_seconds",
			Help:    "Time from taking a message off its queue to its final outcome, retries included.",
			Buckets: latency,
		}, []string{"trigger", "stage"}),
		deadLetters: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_broker_dead_letters_total",
			Help: "Events published to a dead-letter exchange after their delivery failed for good, by trigger.",
		}, []string{"trigger"}),
		unparsable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_broker_unparsable_messages_total",
			Help: "Queue messages that were not CloudEvents (acked and dropped), by trigger.",
		}, []string{"trigger"}),
		reconnects: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgewatch_broker_reconnects_total",
			Help: "Times the broker re-established its RabbitMQ connection after losing it.",
		}),
	}
	for _, c := range []prometheus.Collector{m.ingressAccepted, m.ingressRejected, m.publishDuration, m.attempts,
		m.failedAttempts, m.outcomes, m.dispatchLatency, m.deadLetters, m.unparsable, m.reconnects} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Every known label value starts at zero, so that the first refusal,
	// failure or dead letter is an increase that rate() sees.
	for _, r := range []string{rejectMethod, rejectPath, rejectTooLarge, rejectInvalidEvent, rejectUnavailable, rejectPublishFailed, rejectUnauthorized, rejectForbidden} {
		m.ingressRejected.WithLabelValues(r).Add(0)
	}
	return m, nil
}

// dispatcher starts the series of one dispatcher at zero. Only the status
// codes of edgewatch_broker_dispatch_attempts_total cannot be known before
// they happen; edgewatch_broker_dispatch_failed_attempts_total counts the
// same failures by trigger and stage.
func (m *metrics) dispatcher(trigger, stage string) {
	for _, o := range outcomesByStage[stage] {
		m.outcomes.WithLabelValues(trigger, stage, o).Add(0)
	}
	m.failedAttempts.WithLabelValues(trigger, stage).Add(0)
	m.dispatchLatency.WithLabelValues(trigger, stage)
	m.unparsable.WithLabelValues(trigger).Add(0)
	if stage == stageSubscriber {
		m.deadLetters.WithLabelValues(trigger).Add(0)
	}
}
