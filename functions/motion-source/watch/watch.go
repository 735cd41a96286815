// Package watch runs one camera: it reads frames from the camera's stream at
// the analysis rate, passes them through the motion gate, turns motion into
// JPEG regions and queues them for sending, within the camera's rate limit.
package watch

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/camera"
	"github.com/edgewatch/edgewatch/functions/motion-source/cameraconfig"
	"github.com/edgewatch/edgewatch/functions/motion-source/emit"
	"github.com/edgewatch/edgewatch/functions/motion-source/metrics"
	"github.com/edgewatch/edgewatch/functions/motion-source/motion"
	"github.com/edgewatch/edgewatch/functions/motion-source/region"
	"gocv.io/x/gocv"
)

// Deps are what a Watcher is given.
type Deps struct {
	// Camera is the camera's configuration (URL expanded).
	Camera cameraconfig.Camera
	// Opener opens captures; one per process.
	Opener *camera.Opener
	// Client sends events to the sink.
	Client *emit.Client
	// ModelInput is the default smallest region side (the detector's input).
	ModelInput int
	// Metrics are the camera's collectors.
	Metrics metrics.Camera
	// Log is the camera's logger.
	Log *slog.Logger
	// Progress, when set, receives a progress line about once a second while
	// a file is read once, and a last one when it ends.
	Progress io.Writer
	// Backoff bounds the wait between reconnection attempts (zero: defaults).
	BackoffInitial, BackoffMax time.Duration
}

// Watcher runs one camera.
type Watcher struct {
	cam      cameraconfig.Camera
	src      camera.Source
	stream   *camera.Stream
	gate     *motion.Gate
	enc      *region.Encoder
	rcfg     region.Config
	queue    *emit.Queue
	m        metrics.Camera
	log      *slog.Logger
	progress io.Writer

	ready      atomic.Bool
	done       atomic.Bool
	analysed   atomic.Int64
	motion     atomic.Int64
	lastMotion atomic.Int64 // unix nanoseconds
	decoded    atomic.Int64

	lastEmit time.Duration // stream clock of the last emitted frame, -1 after a still frame
}

// New builds a Watcher; Close releases it.
func New(d Deps) (*Watcher, error) {
	src, err := camera.ParseSource(d.Camera.URL)
	if err != nil {
		return nil, err
	}
	gate, err := motion.New(d.Camera.Gate())
	if err != nil {
		return nil, err
	}
	rcfg := d.Camera.Regions(d.ModelInput)
	if err := rcfg.Validate(); err != nil {
		gate.Close()
		return nil, err
	}
	stream := camera.NewStream(camera.Options{
		Source: src, Secrets: d.Camera.Secrets, FPS: d.Camera.FPS, Loop: d.Camera.Loop,
		Realtime: d.Camera.IsRealtime(), Transport: d.Camera.Transport,
		BackoffInitial: d.BackoffInitial, BackoffMax: d.BackoffMax,
	}, d.Opener, d.Log, d.Metrics)
	return &Watcher{
		cam: d.Camera, src: src, stream: stream, gate: gate, enc: region.NewEncoder(rcfg), rcfg: rcfg,
		queue: emit.NewQueue(d.Client, d.Camera.Queue, d.Log, d.Metrics),
		m:     d.Metrics, log: d.Log, progress: d.Progress, lastEmit: -1,
	}, nil
}

// Close releases the stream and the gate.
func (w *Watcher) Close() error {
	return errors.Join(w.stream.Close(), w.gate.Close())
}

// Run reads and analyses frames until ctx ends or a file read once is done,
// then lets the send queue drain; sendCtx bounds that drain.
func (w *Watcher) Run(ctx, sendCtx context.Context) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.queue.Run(sendCtx)
	}()
	start := time.Now()
	lastProgress := start
	once := !w.src.Live() && !w.cam.Loop
	for {
		frame, err := w.stream.Next(ctx)
		if err != nil {
			if errors.Is(err, camera.ErrFileDone) {
				w.done.Store(true)
				w.log.Info("video file done")
			}
			break
		}
		w.m.Stage(metrics.StageDecode).Observe(w.stream.DecodeTime().Seconds())
		w.analyse(frame)
		if once && w.progress != nil && time.Since(lastProgress) >= time.Second {
			lastProgress = time.Now()
			w.writeProgress(start)
		}
	}
	w.queue.Close()
	wg.Wait()
	if once && w.progress != nil && w.done.Load() {
		w.writeProgress(start)
	}
}

// analyse runs the gate on one frame and queues its regions.
func (w *Watcher) analyse(frame gocv.Mat) {
	w.ready.Store(true)
	w.analysed.Add(1)
	w.decoded.Store(int64(w.stream.Decoded()))
	w.m.FramesAnalysed.Inc()

	t := time.Now()
	res := w.gate.Detect(frame)
	w.m.Stage(metrics.StageGate).Observe(time.Since(t).Seconds())
	if res.Recalibrated {
		w.m.Recalibrations.Inc()
		w.log.Info("lighting changed, recalibrating", "changed", fmt.Sprintf("%.0f%%", 100*res.Changed))
	}
	if len(res.Boxes) == 0 {
		w.lastEmit = -1
		return
	}
	w.m.MotionFrames.Inc()
	w.motion.Add(1)
	w.lastMotion.Store(t.UnixNano())

	clock := w.stream.Clock()
	if w.lastEmit >= 0 && clock >= w.lastEmit && clock-w.lastEmit < time.Duration(w.cam.Cooldown) {
		w.m.EventsLimited.Inc()
		return
	}
	w.lastEmit = clock

	t = time.Now()
	size := image.Pt(frame.Cols(), frame.Rows())
	for _, r := range region.Regions(res.Boxes, size, w.rcfg) {
		jpeg, err := w.enc.Encode(frame, r)
		if err != nil {
			w.log.Error("cannot encode region", "err", err)
			continue
		}
		m := emit.Motion{Camera: w.cam.ID, Time: t, Region: r, Frame: size, JPEG: jpeg}
		if l := w.cam.Location; l != nil {
			m.Location = &emit.Location{Lat: l.Lat, Lon: l.Lon}
		}
		if w.queue.Push(m) {
			w.log.Warn("send queue full, dropped the oldest motion event")
		}
	}
	w.m.Stage(metrics.StageRegion).Observe(time.Since(t).Seconds())
}

func (w *Watcher) writeProgress(start time.Time) {
	el := time.Since(start).Seconds()
	sent, failed, dropped := w.queue.Counts()
	dec := w.decoded.Load()
	fmt.Fprintf(w.progress, "%s: %d frames decoded, %d analysed, %.1f fps, %d motion frames, %d events sent, %d failed, %d dropped\n",
		w.cam.ID, dec, w.analysed.Load(), float64(dec)/max(el, 1e-9), w.motion.Load(), sent, failed, dropped)
}

// Status is a snapshot of a camera for the status page.
type Status struct {
	// ID is the camera id.
	ID string `json:"id"`
	// Kind is file, rtsp, http or device.
	Kind string `json:"kind"`
	// URL is the camera's URL with credentials hidden.
	URL string `json:"url"`
	// Ready is true once the camera has produced a frame.
	Ready bool `json:"ready"`
	// Done is true when a file read once has ended.
	Done bool `json:"done"`
	// FramesAnalysed counts frames through the motion gate.
	FramesAnalysed int64 `json:"frames_analysed"`
	// MotionFrames counts analysed frames with motion.
	MotionFrames int64 `json:"motion_frames"`
	// EventsSent, EventsFailed and EventsDropped count motion events by fate.
	EventsSent    int64 `json:"events_sent"`
	EventsFailed  int64 `json:"events_failed"`
	EventsDropped int64 `json:"events_dropped"`
	// Queued is the number of events waiting or being sent.
	Queued int `json:"queued"`
	// LastMotion is when motion was last seen.
	LastMotion *time.Time `json:"last_motion,omitempty"`
}

// Status returns the camera's status, credentials hidden.
func (w *Watcher) Status() Status {
	sent, failed, dropped := w.queue.Counts()
	s := Status{ID: w.cam.ID, Kind: w.src.Kind.String(), URL: w.stream.Redact(camera.Redact(w.cam.URL)),
		Ready: w.ready.Load(), Done: w.done.Load(), FramesAnalysed: w.analysed.Load(), MotionFrames: w.motion.Load(),
		EventsSent: sent, EventsFailed: failed, EventsDropped: dropped, Queued: w.queue.Len()}
	if ns := w.lastMotion.Load(); ns > 0 {
		t := time.Unix(0, ns).UTC()
		s.LastMotion = &t
	}
	return s
}

// Ready reports whether the camera has produced a frame.
func (w *Watcher) Ready() bool { return w.ready.Load() }
