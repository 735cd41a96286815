package function

import (
	"fmt"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/cameraconfig"
	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
)

// BenchmarkBusy measures the whole camera loop on busy CCTV-like streets
// (samplevideo.Busy: eight textured people at once, entering, leaving,
// pausing, shadows, noise, H.264 at a CCTV bitrate) at standard definition
// (20 s) and 1080p (10 s), analysed at 5 fps:
//
//   - baseline: a bare OpenCV decode of every frame (cpu-ms/frame), and what
//     sending every analysed frame whole as a q80 JPEG would cost (KB/s,
//     events/s);
//   - edgewatch: the default configuration: cpu-ms/frame of the whole
//     process (decode, gate, tracking, encoding, CloudEvents to a sink on
//     127.0.0.1), KB/s and events/s per second of video, cover-% (walkers
//     inside an emitted image within 0.5 s of coming into view and at least
//     every 2 s while they move), first-ms (the longest wait for a first
//     image), ghost-s (the longest a vacated spot kept a motion box);
//   - frame-by-frame: the same with tracking off (every analysed frame with
//     motion is sent).
func BenchmarkBusy(b *testing.B) {
	dir := b.TempDir()
	for _, c := range []struct {
		name  string
		scene samplevideo.Busy
	}{
		{"sd", samplevideo.Busy{Frames: 20 * 25, Seed: 11}},
		{"1080p", samplevideo.Busy{Width: 1920, Height: 1080, Frames: 10 * 25, Seed: 12}},
	} {
		clip := writeBusy(b, dir, c.name, c.scene)
		seconds := float64(len(clip.truth.Frames)) / clip.truth.FPS
		b.Run("baseline/"+c.name, func(b *testing.B) {
			benchDecodeFrames(b, clip.path, len(clip.truth.Frames))
			b.ReportMetric(fullFrameBytes(b, clip.path)*analysedFPS/1e3, "KB/s")
			b.ReportMetric(analysedFPS, "events/s")
		})
		b.Run("edgewatch/"+c.name, func(b *testing.B) {
			run := benchBusy(b, clip, cameraconfig.Camera{})
			ok, first, _, _ := coverage(clip.truth, run.events)
			b.ReportMetric(100*ok, "cover-%")
			b.ReportMetric(float64(first.Milliseconds()), "first-ms")
			b.ReportMetric(ghostSeconds(b, clip, cameraconfig.Camera{FPS: analysedFPS}.Gate()), "ghost-s")
			reportSent(b, run, seconds)
		})
		b.Run("frame-by-frame/"+c.name, func(b *testing.B) {
			run := benchBusy(b, clip, cameraconfig.Camera{Track: cameraconfig.TrackConfig{Refresh: -1}})
			reportSent(b, run, seconds)
		})
	}
}

// benchDecodeFrames is benchDecode for a clip of the given length.
func benchDecodeFrames(b *testing.B, path string, frames int) {
	perFrame := benchDecode(b, path, frames)
	b.ReportMetric(perFrame, "cpu-ms/frame")
}

// benchBusy runs the camera loop over the clip b.N times and returns the
// last run, with the CPU per decoded frame reported.
func benchBusy(b *testing.B, clip busyClip, cam cameraconfig.Camera) busyRun {
	var run busyRun
	var cpu time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run = runBusy(b, clip, cam)
		cpu += run.cpu
	}
	b.StopTimer()
	if run.dropped != 0 {
		b.Fatalf("%d events dropped or failed reading a file", run.dropped)
	}
	frames := b.N * len(clip.truth.Frames)
	b.ReportMetric(float64(cpu)/float64(time.Millisecond)/float64(frames), "cpu-ms/frame")
	return run
}

func reportSent(b *testing.B, run busyRun, seconds float64) {
	bytes := 0
	for _, e := range run.events {
		bytes += e.bytes
	}
	b.ReportMetric(float64(bytes)/seconds/1e3, "KB/s")
	b.ReportMetric(float64(len(run.events))/seconds, "events/s")
	if testing.Verbose() {
		fmt.Printf("tracks sent by reason: %v\n", run.due)
	}
}
