package camera

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/metrics"
	"gocv.io/x/gocv"
)

// ErrFileDone is returned by Next when a file read once has ended.
var ErrFileDone = io.EOF

// Options configure a Stream.
type Options struct {
	// Source is where frames come from.
	Source Source
	// Secrets are values (passwords, tokens) to hide wherever the stream
	// logs or reports an error.
	Secrets []string
	// FPS is the analysis frame rate: how many frames a second Next hands
	// out (of the source's clock for files, the wall clock for live streams).
	FPS float64
	// Loop restarts a file when it ends; otherwise Next returns ErrFileDone.
	Loop bool
	// Realtime paces a file at its own frame rate, as a live camera would
	// deliver it; otherwise a file is read as fast as it decodes.
	Realtime bool
	// Transport is the RTSP transport, "tcp" (default) or "udp".
	Transport string
	// BackoffInitial and BackoffMax bound the exponential wait between
	// reopening attempts [0.5 s, 30 s].
	BackoffInitial, BackoffMax time.Duration
}

// Opener opens video captures. OpenCV's FFmpeg backend reads its options
// (OPENCV_FFMPEG_CAPTURE_OPTIONS) from the process environment when a capture
// opens, so the Opener keeps one process-wide setting — RTSP over TCP and a
// 10 s socket timeout, unless the variable was already set — under which any
// number of captures open concurrently; a camera that needs other options
// (RTSP over UDP) opens alone, with the variable changed only for the time of
// its open. Every Stream of a process shares one Opener.
type Opener struct {
	mu   sync.RWMutex
	base string // the process-wide capture options
}

// NewOpener returns an Opener. FFmpeg's own messages can quote a stream's
// URL, credentials included, so unless OPENCV_FFMPEG_LOGLEVEL is already set
// it is set to 8 (fatal only) before the first capture opens; the streams log
// every failure themselves, redacted.
func NewOpener() *Opener {
	if _, ok := os.LookupEnv(ffmpegLogLevelEnv); !ok {
		_ = os.Setenv(ffmpegLogLevelEnv, "8")
	}
	base, ok := os.LookupEnv(captureOptionsEnv)
	if !ok {
		base = captureOptions("tcp")
		_ = os.Setenv(captureOptionsEnv, base)
	}
	return &Opener{base: base}
}

// ffmpegLogLevelEnv sets FFmpeg's log level when OpenCV first loads it.
const ffmpegLogLevelEnv = "OPENCV_FFMPEG_LOGLEVEL"

// captureOptionsEnv is read by OpenCV's FFmpeg backend when a capture opens.
const captureOptionsEnv = "OPENCV_FFMPEG_CAPTURE_OPTIONS"

// captureOptions returns FFmpeg options for an RTSP transport: the transport
// and a socket I/O timeout of 10 s (in microseconds; it also bounds HTTP
// reads), so that a dead camera errors out instead of hanging a read.
func captureOptions(transport string) string {
	return "rtsp_transport;" + transport + "|timeout;10000000"
}

func (o *Opener) open(src Source, transport string) (*gocv.VideoCapture, error) {
	if src.Kind == KindDevice {
		return gocv.VideoCaptureDeviceWithAPI(src.Device, gocv.VideoCaptureV4L2)
	}
	opts := o.base
	if src.Kind == KindRTSP && transport != "" {
		opts = captureOptions(transport)
	}
	if opts == o.base {
		o.mu.RLock()
		defer o.mu.RUnlock()
		return gocv.VideoCaptureFileWithAPI(src.Target, gocv.VideoCaptureFFmpeg)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	_ = os.Setenv(captureOptionsEnv, opts)
	defer os.Setenv(captureOptionsEnv, o.base)
	return gocv.VideoCaptureFileWithAPI(src.Target, gocv.VideoCaptureFFmpeg)
}

// Stream reads one camera. It is not safe for concurrent use; the Mat Next
// returns is reused by the following call.
type Stream struct {
	opts   Options
	opener *Opener
	log    *slog.Logger
	m      metrics.Camera
	now    func() time.Time

	vc         *gocv.VideoCapture
	frame      gocv.Mat
	srcFPS     float64 // the file's frame rate
	stride     int     // decode stride for files
	expected   int     // frames the file says it has (0 unknown)
	pos        int     // frames decoded since the file opened
	read       int     // frames handed out since the stream opened
	opened     time.Time
	due        time.Time     // next analysed frame of a live stream
	failures   int           // consecutive failures, for backoff
	decodeTime time.Duration // in grab/read calls during the last Next
	opens      int           // successful opens so far
	loops      int           // restarts of a looped file
}

// NewStream returns a Stream; nothing opens until the first Next.
func NewStream(opts Options, opener *Opener, log *slog.Logger, m metrics.Camera) *Stream {
	if opts.FPS <= 0 {
		opts.FPS = 5
	}
	if opts.BackoffInitial <= 0 {
		opts.BackoffInitial = 500 * time.Millisecond
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 30 * time.Second
	}
	return &Stream{opts: opts, opener: opener, log: log, m: m, now: time.Now, frame: gocv.NewMat()}
}

// Close releases the capture and the frame buffer.
func (s *Stream) Close() error {
	s.closeCapture()
	return s.frame.Close()
}

// Redact hides the stream's credentials in a message.
func (s *Stream) Redact(msg string) string {
	msg = strings.ReplaceAll(msg, s.opts.Source.Target, Redact(s.opts.Source.Target))
	for _, v := range s.opts.Secrets {
		if v != "" {
			msg = strings.ReplaceAll(msg, v, "xxxxx")
		}
	}
	return msg
}

// Next decodes up to the next frame to analyse and returns it. Failures to
// open or read are logged, counted and retried with exponential backoff; Next
// returns only a frame, ctx.Err(), or ErrFileDone for a finished file that is
// not looped.
func (s *Stream) Next(ctx context.Context) (gocv.Mat, error) {
	s.decodeTime = 0
	for {
		if err := ctx.Err(); err != nil {
			return gocv.Mat{}, err
		}
		if s.vc == nil {
			if err := s.reopen(ctx); err != nil {
				if ctx.Err() != nil {
					return gocv.Mat{}, ctx.Err()
				}
				continue
			}
		}
		if s.readOne(ctx) {
			s.failures = 0
			return s.frame, nil
		}
		if ctx.Err() != nil {
			return gocv.Mat{}, ctx.Err()
		}
		done, err := s.ended()
		if err != nil {
			return gocv.Mat{}, err
		}
		if done {
			return gocv.Mat{}, ErrFileDone
		}
	}
}

// reopen waits out the backoff after a failure, then opens the capture.
func (s *Stream) reopen(ctx context.Context) error {
	if s.failures > 0 {
		wait := s.backoff()
		s.log.Info("reconnecting", "in", wait.Round(time.Millisecond).String(), "attempt", s.failures)
		if err := sleep(ctx, wait); err != nil {
			return err
		}
	}
	if s.failures > 0 || s.opens > 0 && s.opts.Source.Live() {
		s.m.Reconnects.Inc()
	}
	var vc *gocv.VideoCapture
	err := probe(ctx, s.opts.Source)
	if err == nil {
		err = checkFile(s.opts.Source)
	}
	if err == nil {
		vc, err = s.opener.open(s.opts.Source, s.opts.Transport)
	}
	if err == nil && !vc.IsOpened() {
		err = errors.New("capture did not open")
	}
	if err != nil && vc != nil && s.opts.Source.Kind == KindFile {
		// The file exists and is readable (checkFile): FFmpeg could not
		// make a video of it.
		err = fmt.Errorf("not a video file OpenCV can read: %w", err)
	}
	if err != nil {
		if vc != nil {
			vc.Close()
		}
		s.failures++
		s.m.OpenErrors.Inc()
		s.log.Warn("cannot open camera", "url", Redact(s.opts.Source.Target), "err", s.Redact(err.Error()))
		return err
	}
	s.vc = vc
	s.opens++
	s.read, s.pos = 0, 0
	s.opened = s.now()
	s.due = s.opened
	s.stride, s.expected, s.srcFPS = 1, 0, 0
	if !s.opts.Source.Live() {
		s.srcFPS = vc.Get(gocv.VideoCaptureFPS)
		if s.srcFPS <= 0 || s.srcFPS > 1000 || math.IsNaN(s.srcFPS) {
			s.srcFPS = 25
		}
		s.stride = int(math.Max(1, math.Round(s.srcFPS/s.opts.FPS)))
		s.expected = int(vc.Get(gocv.VideoCaptureFrameCount))
	}
	s.m.Up.Set(1)
	s.log.Info("camera open", "url", Redact(s.opts.Source.Target), "kind", s.opts.Source.Kind.String(),
		"width", int(vc.Get(gocv.VideoCaptureFrameWidth)), "height", int(vc.Get(gocv.VideoCaptureFrameHeight)))
	return nil
}

// readOne decodes up to the next analysed frame into s.frame.
func (s *Stream) readOne(ctx context.Context) bool {
	if !s.opts.Source.Live() {
		return s.readFile(ctx)
	}
	for {
		if ctx.Err() != nil {
			return false
		}
		if !s.now().Before(s.due) {
			if !s.read1() {
				return false
			}
			s.m.FramesDecoded.Inc()
			s.pos++
			s.read++
			interval := time.Duration(float64(time.Second) / s.opts.FPS)
			s.due = s.due.Add(interval)
			if now := s.now(); s.due.Before(now) {
				s.due = now.Add(interval)
			}
			return true
		}
		// Not due yet: decode and discard (a live stream must be drained).
		s.grab(1)
		s.m.FramesDecoded.Inc()
		s.pos++
	}
}

// readFile grabs stride-1 frames without converting them and reads the
// next one.
func (s *Stream) readFile(ctx context.Context) bool {
	if s.read > 0 && s.stride > 1 {
		s.grab(s.stride - 1)
	}
	if !s.read1() {
		return false
	}
	pos := int(s.vc.Get(gocv.VideoCapturePosFrames))
	if pos > s.pos {
		s.m.FramesDecoded.Add(float64(pos - s.pos))
		s.pos = pos
	} else {
		s.m.FramesDecoded.Inc()
		s.pos++
	}
	s.read++
	if s.opts.Realtime {
		at := s.opened.Add(time.Duration(float64(s.pos) / s.srcFPS * float64(time.Second)))
		_ = sleep(ctx, at.Sub(s.now()))
	}
	return true
}

// read1 reads one frame into s.frame, timing it.
func (s *Stream) read1() bool {
	t := time.Now()
	ok := s.vc.Read(&s.frame) && !s.frame.Empty()
	s.decodeTime += time.Since(t)
	return ok
}

// grab decodes n frames without converting them, timing it.
func (s *Stream) grab(n int) {
	t := time.Now()
	s.vc.Grab(n)
	s.decodeTime += time.Since(t)
}

// DecodeTime returns the time the last Next spent in the capture's grab and
// read calls: decoding, and for a live stream waiting for the camera, but not
// the backoff before a reconnection or the pacing of a file.
func (s *Stream) DecodeTime() time.Duration { return s.decodeTime }

// ended handles a failed read: a file that reached its end is looped or
// reported done; anything else is a read error, and the stream is reopened.
func (s *Stream) ended() (done bool, err error) {
	if !s.opts.Source.Live() {
		// Frames grabbed past the last analysed one before the end.
		if pos := int(s.vc.Get(gocv.VideoCapturePosFrames)); pos > s.pos {
			s.m.FramesDecoded.Add(float64(pos - s.pos))
			s.pos = pos
		}
	}
	read, expected, pos := s.read, s.expected, s.pos
	s.closeCapture()
	if !s.opts.Source.Live() && read > 0 {
		s.log.Info("end of video file", "path", s.opts.Source.Target, "decoded", pos,
			"media_time", s.mediaTime(pos).Round(time.Millisecond).String(), "loop", s.opts.Loop)
	}
	if s.opts.Source.Live() {
		s.failures++
		s.m.ReadErrors.Inc()
		s.log.Warn("camera stream broke", "url", Redact(s.opts.Source.Target), "frames", read)
		return false, nil
	}
	short := read == 0 || expected > 0 && pos+s.stride < expected
	if short {
		s.m.ReadErrors.Inc()
		s.log.Warn("video file ended early or is unreadable", "path", s.opts.Source.Target,
			"decoded", pos, "expected", expected)
	}
	if !s.opts.Loop {
		if read == 0 {
			// Nothing readable at all: retry with backoff, the file may be
			// being written.
			s.failures++
			return false, nil
		}
		return true, nil
	}
	if read == 0 {
		s.failures++ // a loop over an unreadable file must not spin
	} else {
		s.loops++
		s.log.Info("restarting video file", "path", s.opts.Source.Target, "loop", s.loops)
	}
	return false, nil
}

func (s *Stream) closeCapture() {
	if s.vc != nil {
		s.vc.Close()
		s.vc = nil
		s.m.Up.Set(0)
	}
}

// backoff returns the wait before the next attempt: exponential from
// BackoffInitial with ±20 % jitter, never more than BackoffMax.
func (s *Stream) backoff() time.Duration {
	return Backoff(s.opts.BackoffInitial, s.opts.BackoffMax, s.failures, rand.Float64())
}

// Backoff returns the wait before attempt n (from 1) of a reconnection:
// initial × 2ⁿ⁻¹, jittered by ±20 % with r in [0, 1), and capped at max after
// the jitter, so that the cap holds whatever the jitter.
func Backoff(initial, max time.Duration, n int, r float64) time.Duration {
	d := float64(initial) * math.Pow(2, float64(n-1)) * (0.8 + 0.4*r)
	return time.Duration(math.Min(d, float64(max)))
}

// Info describes the open stream.
type Info struct {
	// SourceFPS is a file's frame rate (0 for live streams).
	SourceFPS float64
	// Stride is how many decoded frames make one analysed frame (files).
	Stride int
}

// Info returns facts about the open stream.
func (s *Stream) Info() Info { return Info{SourceFPS: s.srcFPS, Stride: s.stride} }

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// String describes the stream for logs, credentials hidden.
func (s *Stream) String() string {
	return fmt.Sprintf("%s %s", s.opts.Source.Kind, Redact(s.opts.Source.Target))
}

// Clock returns when the last frame handed out was taken, on the stream's
// own clock: a file's media time since it (re)opened, or the wall-clock time
// since a live stream opened. It restarts at zero when the stream reopens.
func (s *Stream) Clock() time.Duration {
	if s.opts.Source.Live() {
		return s.now().Sub(s.opened)
	}
	return s.mediaTime(s.pos)
}

// FrameTime returns when the last frame handed out was taken: the wall clock
// for a live stream; for a file, the time it (re)opened plus the frame's
// media time, so that a file read faster than real time still stamps its
// events on the clip's own clock.
func (s *Stream) FrameTime() time.Time {
	if s.opts.Source.Live() {
		return s.now()
	}
	return s.opened.Add(s.Clock())
}

// mediaTime returns the media time of the frame at position pos of a file.
func (s *Stream) mediaTime(pos int) time.Duration {
	if s.srcFPS <= 0 || pos <= 0 {
		return 0
	}
	return time.Duration(float64(pos-1) / s.srcFPS * float64(time.Second))
}

// Decoded returns the frames decoded since the stream last opened.
func (s *Stream) Decoded() int { return s.pos }
