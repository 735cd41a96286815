package metrics

import (
	"regexp"
	"strings"
)

// Instrument is an OpenTelemetry instrument as Knative declares it.
type Instrument struct {
	// Name is the OTel name, e.g. "kn.revision.pods.count".
	Name string
	// Type is the OTel instrument type: Counter, UpDownCounter, Gauge,
	// ObservableGauge or Histogram.
	Type string
	// Unit is the UCUM unit given with metric.WithUnit ("" if none).
	Unit string
	// Component is what exports it.
	Component string
	// Module is the Go module that declares it, for the test that checks
	// this list against Knative's source.
	Module string
}

// KnativeInstruments are the Knative (v1.23, serving and eventing v0.50.0)
// instruments the dashboards use, as declared in Knative's source.
func KnativeInstruments() []Instrument {
	const serving, eventing, otelhttp = "knative.dev/serving", "knative.dev/eventing", "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	qp, as, act, br := "knative-serving queue-proxy", "knative-serving autoscaler", "knative-serving activator", "knative-eventing broker"
	return []Instrument{
		{"kn.serving.invocation.duration", "Histogram", "s", qp, serving},
		{"kn.serving.queue.depth", "Gauge", "{request}", qp, serving},
		{"http.server.request.duration", "Histogram", "s", qp + " (otelhttp)", otelhttp},
		{"kn.revision.pods.requested", "ObservableGauge", "{pod}", as, serving},
		{"kn.revision.pods.count", "ObservableGauge", "{pod}", as, serving},
		{"kn.revision.pods.not_ready.count", "ObservableGauge", "{pod}", as, serving},
		{"kn.revision.pods.pending.count", "ObservableGauge", "{pod}", as, serving},
		{"kn.revision.pods.terminating.count", "ObservableGauge", "{pod}", as, serving},
		{"kn.revision.pods.desired", "ObservableGauge", "{item}", as, serving},
		{"kn.revision.panic.mode", "ObservableGauge", "", as, serving},
		{"kn.revision.concurrency.stable", "ObservableGauge", "{concurrency}", as, serving},
		{"kn.revision.concurrency.panic", "ObservableGauge", "{concurrency}", as, serving},
		{"kn.revision.concurrency.target", "ObservableGauge", "{concurrency}", as, serving},
		{"kn.revision.request.concurrency", "Gauge", "{request}", act, serving},
		{"kn.revision.request.queued", "UpDownCounter", "{request}", act, serving},
		{"kn.revision.request.active", "UpDownCounter", "{request}", act, serving},
		{"kn.eventing.dispatch.duration", "Histogram", "s", br, eventing},
		{"kn.eventing.process.duration", "Histogram", "s", br, eventing},
	}
}

// DCGMMetrics are the NVIDIA DCGM exporter's default gauges the dashboards use.
func DCGMMetrics() []string {
	return []string{"DCGM_FI_DEV_FB_USED", "DCGM_FI_DEV_FB_FREE", "DCGM_FI_DEV_GPU_UTIL"}
}

var (
	unitAnnotation = regexp.MustCompile(`\{[^}]*\}`)
	invalidChars   = regexp.MustCompile(`[^a-zA-Z0-9_:]+`)
	underscores    = regexp.MustCompile(`__+`)
)

// unitWords are the UCUM units Prometheus' OTLP translation spells out.
var unitWords = map[string]string{
	"s": "seconds", "ms": "milliseconds", "us": "microseconds", "ns": "nanoseconds",
	"min": "minutes", "h": "hours", "d": "days",
	"By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes",
	"KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes",
	"%": "percent",
}

// PrometheusName translates an instrument the way Knative's Prometheus
// exporter does (OTel Prometheus exporter, otlptranslator strategy
// UnderscoreEscapingWithSuffixes): dots become underscores, a unit becomes a
// suffix (annotations in braces dropped, "1" becomes "ratio" on gauges, "a/b"
// becomes "a_per_b"), and monotonic counters get "_total". It also returns
// the Prometheus kind.
func PrometheusName(in Instrument) (string, Kind) {
	name := underscores.ReplaceAllString(invalidChars.ReplaceAllString(in.Name, "_"), "_")
	kind := Gauge
	switch in.Type {
	case "Counter", "ObservableCounter":
		kind = Counter
	case "Histogram":
		kind = Histogram
	}
	var parts []string
	unit := strings.TrimSpace(unitAnnotation.ReplaceAllString(in.Unit, ""))
	if main, per, ok := strings.Cut(unit, "/"); ok {
		if w := unitWord(main, kind); w != "" {
			parts = append(parts, w)
		}
		if w := unitWord(per, kind); w != "" {
			parts = append(parts, "per", strings.TrimSuffix(w, "s"))
		}
	} else if w := unitWord(unit, kind); w != "" {
		parts = append(parts, w)
	}
	for _, p := range parts {
		if !strings.HasSuffix(name, "_"+p) {
			name += "_" + p
		}
	}
	if kind == Counter && !strings.HasSuffix(name, "_total") {
		name += "_total"
	}
	return name, kind
}

func unitWord(u string, kind Kind) string {
	if u == "" {
		return ""
	}
	if u == "1" {
		if kind == Gauge {
			return "ratio"
		}
		return ""
	}
	if w, ok := unitWords[u]; ok {
		return w
	}
	return strings.Trim(invalidChars.ReplaceAllString(u, "_"), "_")
}

// AddKnown adds Knative's and DCGM's metrics to e.
func AddKnown(e Exported) {
	for _, in := range KnativeInstruments() {
		name, kind := PrometheusName(in)
		e.Add(name, Source{Kind: kind, From: in.Component})
	}
	for _, n := range DCGMMetrics() {
		e.Add(n, Source{Kind: Gauge, From: "nvidia dcgm-exporter"})
	}
}
