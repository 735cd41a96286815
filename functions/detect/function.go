// Package function is detect: a Knative CloudEvents function that runs a
// YOLO model — darknet (YOLOv4, YOLOv4-tiny or any compatible cfg) or an
// ONNX export (YOLOv5 or YOLOv8/YOLO11 output layout) — through OpenCV on
// each dev.edgewatch.motion.detected event and emits one
// dev.edgewatch.detection.<class> event per incident class found.
//
// The model loads in Start; Ready stays false (and Handle answers 503, which
// the broker retries) until a warm-up forward pass has run. Concurrent
// requests share forward passes through package batch. Packages darknet and
// onnx (model files), yolo (OpenCV networks) and batch (dynamic batching) do
// the work; this package validates events, maps classes, builds and
// delivers the detection events. docs/detect.md describes configuration
// and design.
package function

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/event"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"gocv.io/x/gocv"

	"github.com/edgewatch/edgewatch/functions/detect/batch"
	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/internal/metricsserver"
	"github.com/edgewatch/edgewatch/functions/detect/onnx"
	"github.com/edgewatch/edgewatch/functions/detect/yolo"
)

// Deps are detect's dependencies; zero fields get defaults.
type Deps struct {
	// Logger receives structured logs (default: JSON on stderr).
	Logger *slog.Logger
	// Registry holds the metrics and is served on METRICS_ADDRESS
	// (default: a new registry with the Go and process collectors).
	Registry *prometheus.Registry
	// Now returns the current time (default time.Now).
	Now func() time.Time
}

// Function is the detect function instance.
type Function struct {
	log     *slog.Logger
	reg     *prometheus.Registry
	now     func() time.Time
	metrics *metrics
	initErr error

	svc atomic.Pointer[service]

	mu            sync.Mutex
	started       bool
	metricsServer *metricsserver.Server
}

// New returns a detect instance with default dependencies; func-go calls it.
func New() *Function { return NewWithDeps(Deps{}) }

// NewWithDeps returns a detect instance with the given dependencies.
func NewWithDeps(d Deps) *Function {
	f := &Function{log: d.Logger, reg: d.Registry, now: d.Now}
	if f.log == nil {
		f.log = slog.New(slog.NewJSONHandler(os.Stderr, nil)).With("function", "detect")
	}
	if f.reg == nil {
		f.reg = prometheus.NewRegistry()
		f.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if f.now == nil {
		f.now = time.Now
	}
	f.metrics, f.initErr = newMetrics(f.reg)
	return f
}

// service is a started detect: the loaded network and what serves it.
type service struct {
	cfg     Config
	log     *slog.Logger
	m       *metrics
	now     func() time.Time
	net     yolo.Model
	classes []string // incident class per model label index, "" = ignored
	batcher *batch.Batcher[gocv.Mat, []yolo.Detection]
	client  cloudevents.Client // nil without K_SINK
}

// Start reads the configuration, starts the metrics server, checks and
// loads the model, runs a warm-up forward pass and then reports ready.
// func-go runs it in its own goroutine while already serving, so requests
// that arrive first get 503 and are retried by the broker.
func (f *Function) Start(ctx context.Context, cfgMap map[string]string) error {
	began := time.Now()
	if f.initErr != nil {
		return fmt.Errorf("detect: metrics: %w", f.initErr)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.started {
		return errors.New("detect: already started")
	}
	cfg, err := ParseConfig(cfgMap)
	if err != nil {
		return fmt.Errorf("detect: config: %w", err)
	}
	if f.metricsServer, err = metricsserver.Start(cfg.MetricsAddress, f.reg, f.log); err != nil {
		return fmt.Errorf("detect: metrics server on %s: %w", cfg.MetricsAddress, err)
	}
	if f.metricsServer != nil {
		f.log.Info("metrics served", "address", f.metricsServer.Addr())
	}
	s, err := f.load(cfg)
	if err != nil {
		f.shutdownMetrics(ctx)
		return err
	}
	f.started = true
	f.metrics.loadTime.Set(time.Since(began).Seconds())
	f.metrics.started(string(s.net.Backend()), cfg.ModelName)
	f.svc.Store(s)
	f.log.Info("detect ready", "model", cfg.ModelName, "backend", s.net.Backend(), "input", s.net.InputSize(),
		"labels", len(s.net.Labels()), "load_seconds", time.Since(began).Seconds(), "sink", redactURL(cfg.Sink))
	return nil
}

// load checks the model files, loads the network, warms it up and starts
// the batcher and the sink client.
func (f *Function) load(cfg Config) (*service, error) {
	yolo.SetThreads(cfg.Threads)
	net, err := f.loadModel(cfg)
	if err != nil {
		return nil, fmt.Errorf("detect: %w", err)
	}
	classes := classesFor(cfg.ClassMap, net.Labels())
	if strings.Join(classes, "") == "" {
		net.Close()
		return nil, fmt.Errorf("detect: no model label maps to an incident class (labels %s…; set CLASS_MAP)", strings.Join(first(net.Labels(), 5), ", "))
	}
	for label := range cfg.ClassMap {
		if !slices.Contains(net.Labels(), label) {
			f.log.Warn("CLASS_MAP names a label the model does not have", "label", label)
		}
	}
	if note := net.BackendNote(); note != "" {
		f.log.Warn(note)
	}
	f.log.Info("DNN backend chosen", "asked", cfg.Backend, "backend", net.Backend(), "opencv_threads", yolo.Threads(),
		"batch_max", cfg.BatchFor(net.Backend()))
	if err := net.Warmup(); err != nil {
		net.Close()
		return nil, fmt.Errorf("detect: warm-up forward pass: %w", err)
	}
	s := &service{cfg: cfg, log: f.log, m: f.metrics, now: f.now, net: net, classes: classes}
	if cfg.Sink != "" {
		if s.client, err = cloudevents.NewClientHTTP(cloudevents.WithTarget(cfg.Sink)); err != nil {
			net.Close()
			return nil, fmt.Errorf("detect: K_SINK client: %w", err)
		}
	}
	s.batcher, err = batch.New(s.forward, batch.Options{Window: cfg.BatchWindow, Max: cfg.BatchFor(net.Backend())})
	if err != nil {
		net.Close()
		return nil, fmt.Errorf("detect: %w", err)
	}
	return s, nil
}

// loadModel checks and loads the configured model: an ONNX export
// (MODEL_ONNX) or darknet files (MODEL_CFG, MODEL_WEIGHTS).
func (f *Function) loadModel(cfg Config) (yolo.Model, error) {
	opts := yolo.Options{InputSize: cfg.InputSize, Confidence: cfg.Confidence, NMS: cfg.NMS, Backend: cfg.Backend}
	if cfg.ONNX != "" {
		net, err := yolo.LoadONNX(cfg.ONNX, cfg.Model.Names, opts)
		if err != nil {
			return nil, err
		}
		if net.Producer() == onnx.PatternProducer {
			f.log.Warn(patternWarning)
		}
		f.log.Info("ONNX model loaded", "layout", net.Layout(), "input", net.InputSize())
		return net, nil
	}
	model, err := darknet.Check(cfg.Model)
	if err != nil {
		return nil, err
	}
	if isPatternModel(model) {
		f.log.Warn(patternWarning)
	}
	return yolo.Load(model, opts)
}

// patternWarning is logged when detect loads the generated pattern model.
const patternWarning = "the loaded model is edgewatch's generated colour-pattern model: it reacts to solid yellow, red, green and blue squares, it is NOT a trained detector"

// forward is the batch function: one forward pass over the batch's images.
func (s *service) forward(imgs []gocv.Mat) ([][]yolo.Detection, error) {
	began := time.Now()
	dets, err := s.net.Detect(imgs)
	s.m.inference.WithLabelValues(string(s.net.Backend())).Observe(time.Since(began).Seconds())
	s.m.forwards.Inc()
	s.m.batchSize.Observe(float64(len(imgs)))
	return dets, err
}

// Ready reports whether the model is loaded and warmed up.
func (f *Function) Ready(context.Context) (bool, error) { return f.svc.Load() != nil, nil }

// Alive reports that the process is serving.
func (f *Function) Alive(context.Context) (bool, error) { return true, nil }

// Stop finishes the batch in progress and releases the model.
func (f *Function) Stop(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s := f.svc.Swap(nil); s != nil {
		s.batcher.Close()
		s.net.Close()
	}
	f.shutdownMetrics(ctx)
	return nil
}

// shutdownMetrics stops the metrics server, giving scrapes in flight up to
// two seconds past ctx.
func (f *Function) shutdownMetrics(ctx context.Context) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	_ = f.metricsServer.Shutdown(sctx)
	f.metricsServer = nil
}

// MetricsAddress returns the address the metrics server listens on ("" if none).
func (f *Function) MetricsAddress() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.metricsServer.Addr()
}

// Handle detects objects in one motion event; see handle.go.
func (f *Function) Handle(ctx context.Context, e event.Event) (*event.Event, error) {
	s := f.svc.Load()
	if s == nil {
		f.metrics.errors.WithLabelValues(reasonNotReady).Inc()
		return nil, refuse(503, "detect is loading its model; retry")
	}
	return s.handle(ctx, e)
}

// isPatternModel recognises the generated colour-pattern model by its cfg.
func isPatternModel(m *darknet.Model) bool {
	n := m.Network
	return len(n.Convs) == 3 && len(n.Yolos) == 1 && n.Convs[1].Size == darknet.PatternCell &&
		strings.Join(m.Labels, ",") == strings.Join(darknet.IncidentLabels(), ",")
}

func first(list []string, n int) []string {
	if len(list) > n {
		return list[:n]
	}
	return list
}
