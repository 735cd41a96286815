// Package watch runs one camera: it reads frames from the camera's stream at
// the analysis rate, passes them through the motion gate, follows the motion
// blobs with a tracker, and turns what the detector has not seen yet into
// JPEG images (crops, or the whole frame letterboxed) queued for sending,
// within the camera's rate limit.
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
	"github.com/edgewatch/edgewatch/functions/motion-source/track"
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
	// Recorder, when set, is told of every event delivered (EVENT_LOG).
	Recorder emit.Recorder
}

// Watcher runs one camera.
type Watcher struct {
	cam      cameraconfig.Camera
	src      camera.Source
	stream   *camera.Stream
	gate     *motion.Gate
	tracker  *track.Tracker // nil when tracking is off
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
	tracks     atomic.Int64

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
	var tracker *track.Tracker
	if d.Camera.Tracking() {
		// Ids start from the start time so that a restarted process does not
		// reuse the ids of the one before.
		tracker = track.New(d.Camera.Tracker(), uint64(time.Now().UnixMilli())<<10)
	}
	policy := emit.Wait
	if src.Live() {
		policy = emit.DropOldest
	}
	stream := camera.NewStream(camera.Options{
		Source: src, Secrets: d.Camera.Secrets, FPS: d.Camera.FPS, Loop: d.Camera.Loop,
		Realtime: d.Camera.IsRealtime(), Transport: d.Camera.Transport,
		BackoffInitial: d.BackoffInitial, BackoffMax: d.BackoffMax,
	}, d.Opener, d.Log, d.Metrics)
	return &Watcher{
		cam: d.Camera, src: src, stream: stream, gate: gate, tracker: tracker, enc: region.NewEncoder(rcfg), rcfg: rcfg,
		queue: emit.NewQueue(d.Client, d.Camera.Queue, policy, d.Recorder, d.Log, d.Metrics),
		m:     d.Metrics, log: d.Log, progress: d.Progress, lastEmit: -1,
	}, nil
}

// Close releases the stream, the gate and the encoder.
func (w *Watcher) Close() error {
	return errors.Join(w.stream.Close(), w.gate.Close(), w.enc.Close())
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
		w.analyse(ctx, frame)
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

// analyse runs the gate on one frame, updates the tracks and queues what the
// detector has not seen yet.
func (w *Watcher) analyse(ctx context.Context, frame gocv.Mat) {
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
	clock := w.stream.Clock()
	size := image.Pt(frame.Cols(), frame.Rows())
	boxes, seen := w.due(clock, size, res)
	if len(res.Boxes) == 0 {
		w.lastEmit = -1
		return
	}
	w.m.MotionFrames.Inc()
	w.motion.Add(1)
	w.lastMotion.Store(t.UnixNano())
	if len(boxes) == 0 {
		w.m.MotionFramesHeld.Inc()
		return
	}
	if w.lastEmit >= 0 && clock >= w.lastEmit && clock-w.lastEmit < time.Duration(w.cam.Cooldown) {
		w.m.EventsLimited.Inc()
		return
	}
	w.lastEmit = clock

	t = time.Now()
	base := emit.Motion{Camera: w.cam.ID, Time: w.stream.FrameTime(), Frame: size}
	if l := w.cam.Location; l != nil {
		base.Location = &emit.Location{Lat: l.Lat, Lon: l.Lon}
	}
	plan := region.PlanFrame(boxes, size, w.rcfg)
	if plan.Full {
		jpeg, r, err := w.enc.EncodeFull(frame)
		w.queueImage(ctx, base, r, jpeg, err, seen, metrics.ImageFrame)
	}
	for _, r := range plan.Regions {
		jpeg, err := w.enc.Encode(frame, r)
		w.queueImage(ctx, base, r, jpeg, err, seen, metrics.ImageCrop)
	}
	w.m.Stage(metrics.StageRegion).Observe(time.Since(t).Seconds())
}

// due returns the boxes the detector should see in this frame, and the
// tracks seen in it: with tracking, the boxes of the tracks that are due (none
// when nothing is new); without, every motion box.
func (w *Watcher) due(clock time.Duration, size image.Point, res motion.Result) ([]image.Rectangle, []*track.Track) {
	if w.tracker == nil {
		return res.Boxes, nil
	}
	edges := make([]track.Depths, len(res.Edges))
	for i, e := range res.Edges {
		edges[i] = track.Depths{Side: track.Side(e.Edge), Step: e.Step, Depth: e.Depth}
	}
	seen := w.tracker.Update(clock, size, region.Blobs(res.Boxes, w.rcfg), edges)
	w.tracks.Store(int64(w.tracker.Len()))
	w.m.Tracks.Set(float64(w.tracker.Len()))
	var out []image.Rectangle
	for _, tr := range w.tracker.Due() {
		w.m.TracksDue(tr.Reason.String()).Inc()
		out = append(out, tr.Box)
	}
	return out, seen
}

// queueImage queues the image of region r (frame pixels), with the ids of
// the seen tracks it shows, and marks them sent.
func (w *Watcher) queueImage(ctx context.Context, m emit.Motion, r image.Rectangle, jpeg []byte, err error, seen []*track.Track, kind string) {
	if err != nil {
		w.log.Error("cannot encode image", "region", r.String(), "err", err)
		return
	}
	m.Region, m.JPEG, m.Kind = r, jpeg, kind
	if w.tracker != nil {
		m.Track, m.Tracks = shown(seen, r)
		w.tracker.Sent(r)
	}
	w.m.Images(kind).Inc()
	w.m.ImageBytes.Add(float64(len(jpeg)))
	if w.queue.Push(ctx, m) && ctx.Err() == nil {
		w.log.Warn("send queue full, dropped the oldest motion event")
	}
}

// shown returns the tracks of seen inside r: the first of them with the most
// pressing reason to be sent, and all of their ids.
func shown(seen []*track.Track, r image.Rectangle) (primary uint64, ids []uint64) {
	best := track.ReasonNone
	for _, tr := range seen {
		if !tr.Box.Overlaps(r) {
			continue
		}
		ids = append(ids, tr.ID)
		if tr.Reason != track.ReasonNone && (best == track.ReasonNone || tr.Reason < best) {
			primary, best = tr.ID, tr.Reason
		}
	}
	if primary == 0 && len(ids) > 0 {
		primary = ids[0]
	}
	return primary, ids
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
	// EventsBuffered counts events held while the sink refused (each is
	// later sent, or dropped past the buffer's bounds, or still queued).
	EventsBuffered int64 `json:"events_buffered"`
	// Queued is the number of events waiting or being sent.
	Queued int `json:"queued"`
	// Tracks is the number of motion tracks followed.
	Tracks int64 `json:"tracks"`
	// LastMotion is when motion was last seen.
	LastMotion *time.Time `json:"last_motion,omitempty"`
}

// Status returns the camera's status, credentials hidden.
func (w *Watcher) Status() Status {
	sent, failed, dropped := w.queue.Counts()
	s := Status{ID: w.cam.ID, Kind: w.src.Kind.String(), URL: w.stream.Redact(camera.Redact(w.cam.URL)),
		Ready: w.ready.Load(), Done: w.done.Load(), FramesAnalysed: w.analysed.Load(), MotionFrames: w.motion.Load(),
		EventsSent: sent, EventsFailed: failed, EventsDropped: dropped, EventsBuffered: w.queue.Buffered(), Queued: w.queue.Len(), Tracks: w.tracks.Load()}
	if ns := w.lastMotion.Load(); ns > 0 {
		t := time.Unix(0, ns).UTC()
		s.LastMotion = &t
	}
	return s
}

// Ready reports whether the camera has produced a frame.
func (w *Watcher) Ready() bool { return w.ready.Load() }
