// Package function is the motion-source: an always-on edge process that
// watches many cameras, finds motion on a small grey copy of each analysed
// frame, and sends each region of motion, cut from the full-resolution frame
// as a JPEG, to its sink as a dev.edgewatch.motion.detected CloudEvent.
//
// It has the Knative Functions "instanced" shape (New, Start, Stop, Ready,
// Handle); Handle serves a JSON status of the cameras. docs/motion-source.md
// lists every configuration key.
package function

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/camera"
	"github.com/edgewatch/edgewatch/functions/motion-source/cameraconfig"
	"github.com/edgewatch/edgewatch/functions/motion-source/emit"
	"github.com/edgewatch/edgewatch/functions/motion-source/eventlog"
	"github.com/edgewatch/edgewatch/functions/motion-source/internal/metricsserver"
	"github.com/edgewatch/edgewatch/functions/motion-source/metrics"
	"github.com/edgewatch/edgewatch/functions/motion-source/watch"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Configuration keys read by Start (besides CAMERAS and CAMERAS_FILE, see
// package cameraconfig).
const (
	KeyCameras          = cameraconfig.KeyCameras
	KeyCamerasFile      = cameraconfig.KeyCamerasFile
	KeySink             = "K_SINK"
	KeyOverrides        = "K_CE_OVERRIDES"
	KeyCACerts          = "K_CA_CERTS"
	KeyMetricsAddress   = "METRICS_ADDRESS"
	KeyModelInputSize   = "MODEL_INPUT_SIZE"
	KeySendBackoff      = "SEND_BACKOFF"
	KeySendBackoffMax   = "SEND_BACKOFF_MAX"
	KeyBufferWindow     = "SEND_BUFFER_WINDOW"
	KeyBufferBytes      = "SEND_BUFFER_BYTES"
	KeySendTimeout      = "SEND_TIMEOUT"
	KeyReconnectInitial = "RECONNECT_BACKOFF"
	KeyReconnectMax     = "RECONNECT_BACKOFF_MAX"
	KeyLogLevel         = "LOG_LEVEL"
	KeyEventLog         = "EVENT_LOG"
	KeyStopTimeout      = "STOP_TIMEOUT"
)

// DefaultModelInputSize is the detector's input size (detect's INPUT_SIZE)
// unless MODEL_INPUT_SIZE says otherwise: the smallest side of a crop and the
// longest side of every image sent.
const DefaultModelInputSize = 416

// DefaultMetricsAddress is where metrics are served unless METRICS_ADDRESS
// says otherwise.
const DefaultMetricsAddress = ":9464"

// Source is the motion-source instance.
type Source struct {
	log      *slog.Logger
	reg      *prometheus.Registry
	progress io.Writer

	mu          sync.Mutex
	started     bool
	watchers    []*watch.Watcher
	cancel      context.CancelFunc
	sendCancel  context.CancelFunc
	wg          sync.WaitGroup
	metrics     *metricsserver.Server
	eventLog    *eventlog.Log // nil unless EVENT_LOG is set
	stopTimeout time.Duration
}

// Deps are the motion-source's dependencies; zero fields get defaults.
type Deps struct {
	// Logger receives structured logs (default: JSON on stderr at LOG_LEVEL).
	Logger *slog.Logger
	// Registry holds the metrics, served on METRICS_ADDRESS (default: a new
	// registry with the Go and process collectors).
	Registry *prometheus.Registry
	// Progress receives the progress lines of files read once (default
	// stderr).
	Progress io.Writer
}

// New returns a motion-source instance with default dependencies; func-go
// calls it. Nothing runs until Start.
func New() *Source { return NewWithDeps(Deps{}) }

// NewWithDeps returns a motion-source instance with the given dependencies;
// nothing runs until Start.
func NewWithDeps(d Deps) *Source {
	s := &Source{log: d.Logger, reg: d.Registry, progress: d.Progress}
	if s.progress == nil {
		s.progress = os.Stderr
	}
	if s.reg == nil {
		s.reg = prometheus.NewRegistry()
		s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	return s
}

// Start reads cfg, serves metrics and starts one loop per camera. It returns
// once everything runs; a configuration error stops the process.
func (s *Source) Start(ctx context.Context, cfg map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return errors.New("motion-source: already started")
	}
	conf, err := parseSettings(cfg)
	if s.log == nil {
		s.log = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: conf.logLevel()}))
	}
	cams, camErr := cameraconfig.Load(cfg)
	if err = errors.Join(err, camErr); err != nil {
		return fmt.Errorf("motion-source: configuration: %w", err)
	}
	client, err := emit.NewClient(conf.emitConfig())
	if err != nil {
		return err
	}
	modelInput, backoff, backoffMax, stopTimeout := conf.ModelInputSize, conf.ReconnectInitial, conf.ReconnectMax, conf.StopTimeout
	set, err := metrics.New(s.reg)
	if err != nil {
		return fmt.Errorf("motion-source: metrics: %w", err)
	}
	var recorder emit.Recorder
	if path := conf.EventLog; path != "" {
		l, err := eventlog.Open(path, func(err error) { s.log.Error("event log write failed; events are still sent", "err", err) })
		if err != nil {
			return fmt.Errorf("motion-source: %s: %w", KeyEventLog, err)
		}
		s.eventLog, recorder = l, l
	}
	opener := camera.NewOpener()
	watchers := make([]*watch.Watcher, 0, len(cams))
	closeAll := func() {
		for _, w := range watchers {
			w.Close()
		}
		if s.eventLog != nil {
			s.eventLog.Close()
			s.eventLog = nil
		}
	}
	for _, c := range cams {
		w, err := watch.New(watch.Deps{Camera: c, Opener: opener, Client: client, ModelInput: modelInput,
			Metrics: set.For(c.ID), Log: s.log.With("camera", c.ID), Progress: s.progress,
			BackoffInitial: backoff, BackoffMax: backoffMax, Recorder: recorder})
		if err != nil {
			closeAll()
			return fmt.Errorf("motion-source: camera %s: %w", c.ID, err)
		}
		watchers = append(watchers, w)
	}
	if s.metrics, err = metricsserver.Start(conf.MetricsAddress, s.reg, s.log); err != nil {
		closeAll()
		return fmt.Errorf("motion-source: metrics on %s: %w", conf.MetricsAddress, err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	sendCtx, sendCancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel, s.sendCancel, s.watchers, s.started = cancel, sendCancel, watchers, true
	s.stopTimeout = stopTimeout
	for _, w := range watchers {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			w.Run(runCtx, sendCtx)
		}()
	}
	s.log.Info("motion-source started", "cameras", len(watchers), "metrics", s.metrics.Addr())
	return nil
}

// MetricsAddr returns the address metrics are served on once started, or ""
// (METRICS_ADDRESS=off, or before Start).
func (s *Source) MetricsAddr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.metrics.Addr()
}

// Stop stops every camera, lets the send queues drain until ctx ends (or
// STOP_TIMEOUT passes, when set), and stops serving metrics. Events that
// could not be sent by then are counted as failed or dropped.
func (s *Source) Stop(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return nil
	}
	if s.stopTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.stopTimeout)
		defer cancel()
	}
	s.started = false
	s.cancel()
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	var err error
	finished := true
	select {
	case <-done:
	case <-ctx.Done():
		// Cut the sends short; what is still queued is counted as dropped.
		s.sendCancel()
		err = fmt.Errorf("motion-source: stop: send queues not drained: %w", ctx.Err())
		select {
		case <-done:
		case <-time.After(500 * time.Millisecond):
			finished = false // a camera read still blocks; its resources go with the process
		}
	}
	for _, w := range s.watchers {
		st := w.Status()
		s.log.Info("camera stopped", "camera", st.ID, "events_sent", st.EventsSent, "events_failed", st.EventsFailed,
			"events_dropped", st.EventsDropped, "still_queued", st.Queued)
		if finished {
			err = errors.Join(err, w.Close())
		}
	}
	s.sendCancel()
	shut, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	err = errors.Join(err, s.metrics.Shutdown(shut))
	if s.eventLog != nil {
		err = errors.Join(err, s.eventLog.Close())
		s.eventLog = nil
	}
	s.watchers = nil
	s.log.Info("motion-source stopped")
	return err
}

// Ready reports true once the source has started: its cameras run and its
// metrics are served. A camera that cannot be opened does not make the
// process unready (restarting it would not help, and it would hold up every
// other camera of the process); its state is in the status page and in
// edgewatch_motion_source_camera_up.
func (s *Source) Ready(context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.started, nil
}

// StatusPage is what Handle serves.
type StatusPage struct {
	Ready   bool           `json:"ready"`
	Cameras []watch.Status `json:"cameras"`
}

// Handle serves the JSON status of the cameras (GET or HEAD, any path).
func (s *Source) Handle(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "the motion-source serves only its status: use GET", http.StatusMethodNotAllowed)
		return
	}
	ready, _ := s.Ready(r.Context())
	page := StatusPage{Ready: ready, Cameras: []watch.Status{}}
	s.mu.Lock()
	for _, wt := range s.watchers {
		page.Cameras = append(page.Cameras, wt.Status())
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(page)
}
