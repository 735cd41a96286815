package function

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgewatch/edgewatch/functions/detect/internal/contract"
)

// Error reasons counted in edgewatch_detect_errors_total.
const (
	reasonNotReady     = "not_ready"
	reasonWrongType    = "wrong_type"
	reasonContentType  = "content_type"
	reasonEmpty        = "empty_image"
	reasonTooLarge     = "image_too_large"
	reasonCorrupt      = "corrupt_image"
	reasonBadExtension = "bad_extension"
	reasonInference    = "inference"
	reasonDelivery     = "delivery"
	reasonNoSink       = "no_sink"
	reasonEncode       = "encode"
)

// errorReasons lists every reason of edgewatch_detect_errors_total.
var errorReasons = []string{reasonNotReady, reasonWrongType, reasonContentType, reasonEmpty, reasonTooLarge,
	reasonCorrupt, reasonBadExtension, reasonInference, reasonDelivery, reasonNoSink, reasonEncode}

// Ways a detection event leaves (label via of edgewatch_detect_events_total).
const (
	viaSink  = "sink"
	viaReply = "reply"
)

// batchBuckets has one bucket per batch size up to 16, so that the p95 of
// a histogram of whole numbers, rounded up, is the true batch size there;
// larger batches are told apart more coarsely.
var batchBuckets = []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 24, 32, 48, 64, 128, 256}

// metrics are detect's Prometheus instruments.
type metrics struct {
	inference  *prometheus.HistogramVec
	batchSize  prometheus.Histogram
	forwards   prometheus.Counter
	detections *prometheus.CounterVec
	events     *prometheus.CounterVec
	loadTime   prometheus.Gauge
	errors     *prometheus.CounterVec
	backend    *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		inference: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edgewatch_detect_inference_seconds",
			Help:    "Time of one batched forward pass including blob building, decoding and NMS.",
			Buckets: prometheus.ExponentialBuckets(0.002, 2, 14),
		}, []string{"backend"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "edgewatch_detect_batch_size",
			Help:    "Images per forward pass.",
			Buckets: batchBuckets,
		}),
		forwards: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgewatch_detect_forward_passes_total",
			Help: "Forward passes run for requests (the warm-up pass is not counted).",
		}),
		detections: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_detect_detections_total",
			Help: "Objects detected, by incident class.",
		}, []string{"class"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_detect_events_total",
			Help: "Detection events produced, by how they left (sink or reply).",
		}, []string{"via"}),
		loadTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "edgewatch_detect_model_load_seconds",
			Help: "Time from Start to ready: file checks, ReadNet and the warm-up forward pass.",
		}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_detect_errors_total",
			Help: "Requests refused or failed, by reason.",
		}, []string{"reason"}),
		backend: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edgewatch_detect_backend_info",
			Help: "1 for the DNN backend and model in use.",
		}, []string{"backend", "model"}),
	}
	for _, c := range []prometheus.Collector{m.inference, m.batchSize, m.forwards, m.detections, m.events, m.loadTime, m.errors, m.backend} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Every known label value starts at zero, so that the first detection,
	// event or error is an increase that rate() sees.
	for _, c := range contract.Classes() {
		m.detections.WithLabelValues(c).Add(0)
	}
	for _, v := range []string{viaSink, viaReply} {
		m.events.WithLabelValues(v).Add(0)
	}
	for _, r := range errorReasons {
		m.errors.WithLabelValues(r).Add(0)
	}
	return m, nil
}

// started records the loaded model: its backend's latency histogram starts
// empty, and the backend's info gauge is 1.
func (m *metrics) started(backend, model string) {
	m.inference.WithLabelValues(backend)
	m.backend.WithLabelValues(backend, model).Set(1)
}
