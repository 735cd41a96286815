package function

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/camera"
	"github.com/edgewatch/edgewatch/functions/motion-source/cameraconfig"
	"github.com/edgewatch/edgewatch/functions/motion-source/emit"
	"github.com/edgewatch/edgewatch/functions/motion-source/metrics"
	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
	"github.com/edgewatch/edgewatch/functions/motion-source/watch"
	"gocv.io/x/gocv"
)

// benchFrames is the length of the benchmark clips: 2 s at 25 fps.
const benchFrames = 50

// BenchmarkMotion compares, per decoded frame of a 1080p 25 fps H.264 clip,
// the CPU time of bare decoding (baseline: every frame read to BGR, as any
// consumer of the stream must at least do) with the whole motion-source loop
// (edgewatch: decode every frame, analyse 5 a second through the motion gate,
// cut and JPEG-encode regions, send them as CloudEvents to a sink on
// 127.0.0.1). CPU time is the process's (all threads, the sink included).
//
// Extra figures: cpu-ms/frame; overhead-% of edgewatch over the baseline of
// the same run (sampled-decode: the decoding share alone, grabbing without
// BGR conversion the frames that are not analysed); fwd-% = analysed frames forwarded as motion; bytes-% = mean
// bytes per motion event against the JPEG of the full frame (same quality).
func BenchmarkMotion(b *testing.B) {
	dir := b.TempDir()
	clips := map[string]string{}
	for name, scene := range map[string]samplevideo.Scene{
		"1080p":        {Width: 1920, Height: 1080, FPS: 25, Frames: benchFrames, Object: true, ObjectStart: 5, Noise: 4},
		"1080p-static": {Width: 1920, Height: 1080, FPS: 25, Frames: benchFrames, Noise: 4},
	} {
		path, err := writeBenchClip(dir, name, scene)
		if err != nil {
			b.Fatal(err)
		}
		clips[name] = path
	}
	baseline := map[string]float64{}
	for _, size := range []string{"1080p", "1080p-static"} {
		b.Run("baseline/"+size, func(b *testing.B) {
			baseline[size] = benchDecode(b, clips[size], benchFrames)
			b.ReportMetric(baseline[size], "cpu-ms/frame")
		})
	}
	for _, size := range []string{"1080p", "1080p-static"} {
		b.Run("sampled-decode/"+size, func(b *testing.B) {
			perFrame := benchSampledDecode(b, clips[size])
			if base := baseline[size]; base > 0 {
				b.ReportMetric(100*(perFrame/base-1), "overhead-%")
			}
		})
	}
	for _, size := range []string{"1080p", "1080p-static"} {
		b.Run("edgewatch/"+size, func(b *testing.B) {
			perFrame := benchEdgewatch(b, clips[size])
			if base := baseline[size]; base > 0 {
				b.ReportMetric(100*(perFrame/base-1), "overhead-%")
			}
		})
	}
}

// writeBenchClip writes an H.264 clip, or MPEG-4 part 2 where no H.264
// encoder is available.
func writeBenchClip(dir, name string, scene samplevideo.Scene) (string, error) {
	var err error
	for _, codec := range []string{"avc1", "mp4v"} {
		path := filepath.Join(dir, name+"-"+codec+".mp4")
		scene.Codec = codec
		if err = samplevideo.Write(path, scene); err == nil {
			return path, nil
		}
	}
	return "", err
}

// cpuTime returns the CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// benchDecode reads every frame of the clip (of the given length) into one
// reused Mat and returns the CPU ms per frame.
func benchDecode(b *testing.B, path string, length int) float64 {
	frame := gocv.NewMat()
	defer frame.Close()
	frames := 0
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		vc, err := gocv.VideoCaptureFileWithAPI(path, gocv.VideoCaptureFFmpeg)
		if err != nil {
			b.Fatal(err)
		}
		for vc.Read(&frame) {
			frames++
		}
		vc.Close()
	}
	cpu := cpuTime() - start
	b.StopTimer()
	if frames != b.N*length {
		b.Fatalf("decoded %d frames, want %d", frames, b.N*length)
	}
	return float64(cpu) / float64(time.Millisecond) / float64(frames)
}

// benchSampledDecode decodes every frame but converts only every 5th to BGR
// (grab four, read one), as the camera loop does at 5 analysed fps of a
// 25 fps file: the decoding share of edgewatch, without the analysis.
func benchSampledDecode(b *testing.B, path string) float64 {
	frame := gocv.NewMat()
	defer frame.Close()
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		vc, err := gocv.VideoCaptureFileWithAPI(path, gocv.VideoCaptureFFmpeg)
		if err != nil {
			b.Fatal(err)
		}
		for n := 0; ; n++ {
			if n > 0 {
				vc.Grab(4)
			}
			if !vc.Read(&frame) {
				break
			}
		}
		vc.Close()
	}
	cpu := cpuTime() - start
	b.StopTimer()
	perFrame := float64(cpu) / float64(time.Millisecond) / float64(b.N*benchFrames)
	b.ReportMetric(perFrame, "cpu-ms/frame")
	return perFrame
}

// benchEdgewatch runs the real camera loop over the clip, once per
// iteration, and returns the CPU ms per decoded frame.
func benchEdgewatch(b *testing.B, path string) float64 {
	var events, bytes atomic.Int64
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		events.Add(1)
		bytes.Add(n)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer sink.Close()
	client, err := emit.NewClient(emit.Config{Sink: sink.URL})
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	opener := camera.NewOpener()
	cam := cameraconfig.Camera{ID: "bench", URL: path, FPS: 5, Queue: 64}
	var analysed, motion int64
	b.ResetTimer()
	start := cpuTime()
	for i := 0; i < b.N; i++ {
		w, err := watch.New(watch.Deps{Camera: cam, Opener: opener, Client: client, ModelInput: 320,
			Metrics: metrics.Discard("bench"), Log: log})
		if err != nil {
			b.Fatal(err)
		}
		w.Run(context.Background(), context.Background())
		st := w.Status()
		analysed += st.FramesAnalysed
		motion += st.MotionFrames
		w.Close()
	}
	cpu := cpuTime() - start
	b.StopTimer()
	frames := b.N * benchFrames
	if analysed != int64(b.N*benchFrames/5) {
		b.Fatalf("analysed %d frames, want %d", analysed, b.N*benchFrames/5)
	}
	perFrame := float64(cpu) / float64(time.Millisecond) / float64(frames)
	b.ReportMetric(perFrame, "cpu-ms/frame")
	b.ReportMetric(100*float64(motion)/float64(analysed), "fwd-%")
	if n := events.Load(); n > 0 {
		full, err := fullFrameJPEG(path)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(100*float64(bytes.Load())/float64(n)/float64(full), "bytes-%")
	}
	return perFrame
}

// fullFrameJPEG returns the size of the clip's middle frame as a JPEG at the
// quality regions use.
func fullFrameJPEG(path string) (int, error) {
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		return 0, err
	}
	defer vc.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	for i := 0; i <= benchFrames/2; i++ {
		if !vc.Read(&frame) {
			return 0, fmt.Errorf("clip shorter than %d frames", benchFrames/2)
		}
	}
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, frame, []int{gocv.IMWriteJpegQuality, 90})
	if err != nil {
		return 0, err
	}
	defer buf.Close()
	return buf.Len(), nil
}
