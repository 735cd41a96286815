package function

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the caption function's Prometheus metrics.
type metrics struct {
	events      *prometheus.CounterVec
	vlmRequests *prometheus.CounterVec
	vlmDuration prometheus.Histogram
	cacheHits   *prometheus.CounterVec
	tokens      *prometheus.CounterVec
}

// Outcomes of an incident event (label outcome of edgewatch_caption_events_total).
const (
	outcomeCaptioned     = "captioned"
	outcomeDuplicate     = "duplicate"
	outcomeBadInput      = "bad_input"
	outcomeNotConfigured = "not_configured"
	outcomeFailed        = "failed"
)

// Outcomes of a VLM call (label outcome of edgewatch_caption_vlm_requests_total).
const (
	callOK            = "ok"
	callTimeout       = "timeout"
	callUnreachable   = "unreachable"
	callRateLimited   = "rate_limited"
	callServerError   = "server_error"
	callBadResponse   = "bad_response"
	callMisconfigured = "misconfigured"
	callRejected      = "rejected"
)

// Sources of an answer without a VLM call of its own, and kinds of tokens.
const (
	hitCache    = "cache"
	hitInFlight = "in_flight"
	tokensIn    = "prompt"
	tokensOut   = "completion"
)

// newMetrics creates the metrics, registers them on reg and starts every
// known label value at zero, so that the first occurrence of each is an
// increase that rate() sees.
func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_caption_events_total",
			Help: "Incident events handled, by outcome: captioned, duplicate (answered from a call in flight or the cache), bad_input, not_configured, failed.",
		}, []string{"outcome"}),
		vlmRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_caption_vlm_requests_total",
			Help: "Chat-completions calls to the VLM endpoint, by outcome: ok, timeout, unreachable, rate_limited, server_error, bad_response, misconfigured, rejected.",
		}, []string{"outcome"}),
		vlmDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "edgewatch_caption_vlm_request_duration_seconds",
			Help:    "Time from sending a chat-completions request to having its whole answer, failures included.",
			Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 12, 16, 20, 25},
		}),
		cacheHits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_caption_cache_hits_total",
			Help: "Incident events answered without a VLM call of their own, by source: cache (an earlier result) or in_flight (a call already running for the incident).",
		}, []string{"source"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_caption_vlm_tokens_total",
			Help: "Tokens the VLM endpoint reported using, by kind: prompt or completion.",
		}, []string{"kind"}),
	}
	for _, c := range []prometheus.Collector{m.events, m.vlmRequests, m.vlmDuration, m.cacheHits, m.tokens} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	for _, o := range []string{outcomeCaptioned, outcomeDuplicate, outcomeBadInput, outcomeNotConfigured, outcomeFailed} {
		m.events.WithLabelValues(o).Add(0)
	}
	for _, o := range []string{callOK, callTimeout, callUnreachable, callRateLimited, callServerError, callBadResponse,
		callMisconfigured, callRejected} {
		m.vlmRequests.WithLabelValues(o).Add(0)
	}
	for _, s := range []string{hitCache, hitInFlight} {
		m.cacheHits.WithLabelValues(s).Add(0)
	}
	for _, k := range []string{tokensIn, tokensOut} {
		m.tokens.WithLabelValues(k).Add(0)
	}
	return m, nil
}

// observeCall records one VLM call.
func (m *metrics) observeCall(outcome string, took time.Duration) {
	m.vlmRequests.WithLabelValues(outcome).Inc()
	m.vlmDuration.Observe(took.Seconds())
}
