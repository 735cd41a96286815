// Package metrics defines the Prometheus collectors of the motion-source and
// hands each camera its own curried view, labelled by camera id only (never
// by URL, so credentials cannot reach a label).
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
)

// Stages timed by the stage histogram.
const (
	StageDecode = "decode" // grabbing and decoding the frames up to the next analysed one (live: waiting included)
	StageGate   = "gate"   // the motion gate on the small grey frame
	StageRegion = "region" // clustering, cropping and JPEG encoding
	StageSend   = "send"   // one CloudEvent delivery, retries included
)

// Kinds of image sent.
const (
	ImageCrop  = "crop"  // a region of the frame
	ImageFrame = "frame" // the whole frame, letterboxed
)

// Set holds every collector, registered on one registry.
type Set struct {
	framesDecoded  *prometheus.CounterVec
	framesAnalysed *prometheus.CounterVec
	motionFrames   *prometheus.CounterVec
	eventsSent     *prometheus.CounterVec
	eventsFailed   *prometheus.CounterVec
	eventsDropped  *prometheus.CounterVec
	eventsLimited  *prometheus.CounterVec
	eventsHeld     *prometheus.CounterVec
	heldDropped    *prometheus.CounterVec
	queueBytes     *prometheus.GaugeVec
	reconnects     *prometheus.CounterVec
	streamErrors   *prometheus.CounterVec
	calibrations   *prometheus.CounterVec
	motionHeld     *prometheus.CounterVec
	images         *prometheus.CounterVec
	imageBytes     *prometheus.CounterVec
	tracksDue      *prometheus.CounterVec
	tracks         *prometheus.GaugeVec
	queueDepth     *prometheus.GaugeVec
	connected      *prometheus.GaugeVec
	stageSeconds   *prometheus.HistogramVec
}

// New creates the collectors and registers them on reg.
func New(reg prometheus.Registerer) (*Set, error) {
	cam := []string{"camera"}
	s := &Set{
		framesDecoded: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_motion_source_frames_decoded_total",
			Help: "Frames decoded from the camera stream.",
		}, cam),
		framesAnalysed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_motion_source_frames_analysed_total",
			Help: "Frames passed through the motion gate (sampled at the analysis fps).",
		}, cam),
		motionFrames: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_motion_source_motion_frames_total",
			Help: "Analysed frames in which the gate found motion.",
		}, cam),
		eventsSent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_motion_source_events_sent_total",
			Help: "Motion events the sink acknowledged.",
		}, cam),
		eventsFailed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_motion_source_events_failed_total",
			Help: "Motion events that could not be delivered after all retries.",
		}, cam),
		eventsDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_motion_source_events_dropped_total",
			Help: "Motion events dropped unsent, oldest first: the camera's send queue was full, or, while the sink refused, older than the buffer window or past its bytes.",
		}, cam),
		eventsHeld: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_motion_source_events_buffered_total",
			Help: "Motion events held in the camera's outage buffer because the sink refused or could not be reached.",
		}, cam),
		heldDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_motion_source_buffer_dropped_total",
			Help: "Buffered motion events dropped before the sink took them (older than the buffer window or past its bytes); also counted in events_dropped_total.",
		}, cam),
		queueBytes: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edgewatch_motion_source_queue_bytes",
			Help: "JPEG bytes waiting in the camera's send queue, the outage buffer included.",
		}, cam),
		eventsLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_motion_source_events_rate_limited_total",
			Help: "Motion frames not emitted because the camera's cooldown had not elapsed.",
		}, cam),
		reconnects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_motion_source_reconnects_total",
			Help: "Attempts to reopen a camera stream after a failure.",
		}, cam),
		streamErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_motion_source_stream_errors_total",
			Help: "Stream failures by kind: open (could not open) or read (stream broke or ended early).",
		}, []string{"camera", "kind"}),
		calibrations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_motion_source_recalibrations_total",
			Help: "Global lighting changes that made the gate recalibrate instead of reporting motion.",
		}, cam),
		motionHeld: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_motion_source_motion_frames_held_total",
			Help: "Analysed frames with motion but nothing the detector had not seen: no track new, split, grown or due for a refresh.",
		}, cam),
		images: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_motion_source_images_total",
			Help: "Images queued for the detector, by kind: crop (a region) or frame (the whole frame, letterboxed).",
		}, []string{"camera", "kind"}),
		imageBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_motion_source_image_bytes_total",
			Help: "JPEG bytes of the images queued for the detector.",
		}, cam),
		tracksDue: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgewatch_motion_source_tracks_due_total",
			Help: "Motion tracks sent to the detector, by reason: new, split, grown, refresh, nearby (refreshed early with others), entering (motion on a new stretch of the frame's edge).",
		}, []string{"camera", "reason"}),
		tracks: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edgewatch_motion_source_tracks",
			Help: "Motion tracks followed.",
		}, cam),
		queueDepth: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edgewatch_motion_source_queue_depth",
			Help: "Motion events waiting in the camera's send queue.",
		}, cam),
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "edgewatch_motion_source_camera_up",
			Help: "1 while the camera stream is open, 0 otherwise.",
		}, cam),
		stageSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "edgewatch_motion_source_stage_seconds",
			Help:    "Time spent per analysed frame in each stage.",
			Buckets: []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"camera", "stage"}),
	}
	for _, c := range []prometheus.Collector{s.framesDecoded, s.framesAnalysed, s.motionFrames, s.eventsSent,
		s.eventsFailed, s.eventsDropped, s.eventsLimited, s.eventsHeld, s.heldDropped, s.queueBytes, s.reconnects, s.streamErrors, s.calibrations,
		s.motionHeld, s.images, s.imageBytes, s.tracksDue, s.tracks, s.queueDepth, s.connected, s.stageSeconds} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Camera is the set of collectors of one camera.
type Camera struct {
	FramesDecoded  prometheus.Counter
	FramesAnalysed prometheus.Counter
	MotionFrames   prometheus.Counter
	EventsSent     prometheus.Counter
	EventsFailed   prometheus.Counter
	EventsDropped  prometheus.Counter
	EventsLimited  prometheus.Counter
	// EventsBuffered counts events held while the sink refused, and
	// BufferDropped those of them dropped before it took them.
	EventsBuffered prometheus.Counter
	BufferDropped  prometheus.Counter
	// QueueBytes is the JPEG bytes waiting to be sent.
	QueueBytes     prometheus.Gauge
	Reconnects     prometheus.Counter
	OpenErrors     prometheus.Counter
	ReadErrors     prometheus.Counter
	Recalibrations prometheus.Counter
	// MotionFramesHeld counts frames with motion and nothing new to send.
	MotionFramesHeld prometheus.Counter
	// ImageBytes counts the JPEG bytes queued.
	ImageBytes prometheus.Counter
	// Tracks is the number of tracks followed.
	Tracks     prometheus.Gauge
	QueueDepth prometheus.Gauge
	Up         prometheus.Gauge
	stage      prometheus.ObserverVec
	images     *prometheus.CounterVec
	tracksDue  *prometheus.CounterVec
}

// Stage returns the histogram of one stage (see the Stage constants).
func (c Camera) Stage(name string) prometheus.Observer { return c.stage.WithLabelValues(name) }

// Images returns the counter of images of one kind (ImageCrop, ImageFrame).
func (c Camera) Images(kind string) prometheus.Counter { return c.images.WithLabelValues(kind) }

// TracksDue returns the counter of tracks sent for one reason.
func (c Camera) TracksDue(reason string) prometheus.Counter {
	return c.tracksDue.WithLabelValues(reason)
}

// For returns the collectors of the camera with the given id. Every series
// of the camera exists from then on, at zero, so that the first event,
// error or timing of each is an increase that rate() sees.
func (s *Set) For(camera string) Camera {
	l := prometheus.Labels{"camera": camera}
	for _, st := range []string{StageDecode, StageGate, StageRegion, StageSend} {
		s.stageSeconds.WithLabelValues(camera, st)
	}
	images := s.images.MustCurryWith(l)
	due := s.tracksDue.MustCurryWith(l)
	for _, k := range []string{ImageCrop, ImageFrame} {
		images.WithLabelValues(k)
	}
	for _, r := range []string{"new", "split", "grown", "refresh", "nearby", "entering"} { // track.Reason's names
		due.WithLabelValues(r)
	}
	return Camera{
		FramesDecoded:    s.framesDecoded.With(l),
		FramesAnalysed:   s.framesAnalysed.With(l),
		MotionFrames:     s.motionFrames.With(l),
		EventsSent:       s.eventsSent.With(l),
		EventsFailed:     s.eventsFailed.With(l),
		EventsDropped:    s.eventsDropped.With(l),
		EventsLimited:    s.eventsLimited.With(l),
		EventsBuffered:   s.eventsHeld.With(l),
		BufferDropped:    s.heldDropped.With(l),
		QueueBytes:       s.queueBytes.With(l),
		Reconnects:       s.reconnects.With(l),
		OpenErrors:       s.streamErrors.WithLabelValues(camera, "open"),
		ReadErrors:       s.streamErrors.WithLabelValues(camera, "read"),
		Recalibrations:   s.calibrations.With(l),
		MotionFramesHeld: s.motionHeld.With(l),
		ImageBytes:       s.imageBytes.With(l),
		Tracks:           s.tracks.With(l),
		QueueDepth:       s.queueDepth.With(l),
		Up:               s.connected.With(l),
		stage:            s.stageSeconds.MustCurryWith(l),
		images:           images,
		tracksDue:        due,
	}
}

// Discard returns collectors registered nowhere, for code run outside a
// process (benchmarks, one-off tools).
func Discard(camera string) Camera {
	s, _ := New(prometheus.NewRegistry())
	return s.For(camera)
}
