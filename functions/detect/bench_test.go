package function

import (
	"context"
	"fmt"
	"image"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gocv.io/x/gocv"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/yolo"
)

// benchThreads is OpenCV's thread count in every benchmark: one thread
// keeps figures comparable on a shared machine.
const benchThreads = 1

// benchModels caches generated models across benchmarks of one run.
type benchModels struct {
	mu    sync.Mutex
	dir   string
	files map[darknet.Kind]darknet.Files
}

func (m *benchModels) get(b *testing.B, kind darknet.Kind) darknet.Files {
	b.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	if f, ok := m.files[kind]; ok {
		return f
	}
	g, err := darknet.Generate(kind, m.dir+"/"+string(kind))
	if err != nil {
		b.Fatal(err)
	}
	m.files[kind] = g.Files
	return g.Files
}

func newBenchModels(b *testing.B) *benchModels {
	return &benchModels{dir: b.TempDir(), files: map[darknet.Kind]darknet.Files{}}
}

func modelConfig(f darknet.Files, extra map[string]string) map[string]string {
	cfg := map[string]string{
		"MODEL_CFG": f.Cfg, "MODEL_WEIGHTS": f.Weights, "MODEL_NAMES": f.Names,
		"DNN_BACKEND": "cpu", "METRICS_ADDRESS": "off", "DNN_THREADS": fmt.Sprint(benchThreads),
	}
	for k, v := range extra {
		cfg[k] = v
	}
	return cfg
}

// benchImage is a 416×416 camera-like crop as JPEG.
func benchImage(b *testing.B) []byte {
	return patternJPEG(b, 416, 416, square{image.Rect(100, 100, 160, 200), red}, square{image.Rect(250, 40, 300, 90), blue})
}

// bareForward is the baseline: gocv's own blob + forward loop, nothing else.
func bareForward(b *testing.B, f darknet.Files, jpg []byte) {
	yolo.SetThreads(benchThreads)
	net := gocv.ReadNet(f.Weights, f.Cfg)
	defer net.Close()
	_ = net.SetPreferableBackend(gocv.NetBackendOpenCV)
	_ = net.SetPreferableTarget(gocv.NetTargetCPU)
	var names []string
	for _, id := range net.GetUnconnectedOutLayers() {
		l := net.GetLayer(id)
		names = append(names, l.GetName())
		l.Close()
	}
	img, err := gocv.IMDecode(jpg, gocv.IMReadColor)
	if err != nil {
		b.Fatal(err)
	}
	defer img.Close()
	forward := func() {
		blob := gocv.BlobFromImage(img, 1.0/255, image.Pt(416, 416), gocv.NewScalar(0, 0, 0, 0), true, false)
		net.SetInput(blob, "")
		for _, o := range net.ForwardLayers(names) {
			o.Close()
		}
		blob.Close()
	}
	forward() // warm-up, as detect's Start does
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		forward()
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/frame")
}

// serviceDetect runs motion events through Handle: JPEG decode, batcher,
// forward, decode and NMS, class map and event building.
//
// It also reports overhead-ms: the time per frame outside the batched
// forward pass (validation, JPEG decode, batching window, event building),
// measured in the same run from edgewatch_detect_inference_seconds, so
// machine noise hits both sides alike.
func serviceDetect(b *testing.B, f darknet.Files, jpg []byte, window string) {
	reg := prometheus.NewRegistry()
	fn := NewWithDeps(Deps{Logger: testLogger(b), Registry: reg})
	cfg := modelConfig(f, map[string]string{"CLASS_MAP": "person=accident,knife=knife,scissors=knife", "BATCH_WINDOW": window})
	if err := fn.Start(context.Background(), cfg); err != nil {
		b.Fatal(err)
	}
	defer fn.Stop(context.Background())
	e := motionEvent(b, "bench", jpg, nil)
	before := inferenceSeconds(b, reg)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := fn.Handle(context.Background(), e); err != nil && statusOf(err) != 500 {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	perFrame := b.Elapsed().Seconds() / float64(b.N)
	forward := (inferenceSeconds(b, reg) - before) / float64(b.N)
	b.ReportMetric(perFrame*1000, "ms/frame")
	b.ReportMetric((perFrame-forward)*1000, "overhead-ms")
	b.ReportMetric(100*(perFrame-forward)/forward, "overhead-%")
}

// inferenceSeconds sums edgewatch_detect_inference_seconds.
func inferenceSeconds(b *testing.B, reg *prometheus.Registry) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == "edgewatch_detect_inference_seconds" {
			for _, m := range mf.GetMetric() {
				sum += m.GetHistogram().GetSampleSum()
			}
		}
	}
	return sum
}

// BenchmarkDetect compares one frame through detect's whole service path
// (default 5 ms batching window) with a bare gocv blob + forward loop on the
// same generated model.
func BenchmarkDetect(b *testing.B) {
	models := newBenchModels(b)
	jpg := benchImage(b)
	for _, m := range []struct {
		name string
		kind darknet.Kind
	}{{"tiny-416-b1", darknet.KindTiny}, {"yolov4-416-b1", darknet.KindFull}} {
		b.Run("baseline/"+m.name, func(b *testing.B) { bareForward(b, models.get(b, m.kind), jpg) })
		b.Run("edgewatch/"+m.name, func(b *testing.B) { serviceDetect(b, models.get(b, m.kind), jpg, "5ms") })
	}
	// Without the batching window a lone request pays only validation, decode and event building.
	b.Run("edgewatch-nowindow/tiny-416-b1", func(b *testing.B) { serviceDetect(b, models.get(b, darknet.KindTiny), jpg, "0s") })
}

// BenchmarkBatch sends 8 concurrent motion events per operation through
// Handle; baseline runs them as 8 forward passes of one image (BATCH_MAX=1),
// bN lets the batcher group them N to a forward pass.
func BenchmarkBatch(b *testing.B) {
	const frames = 8
	models := newBenchModels(b)
	jpg := benchImage(b)
	for _, v := range []struct {
		name string
		max  int
	}{{"baseline", 1}, {"b2", 2}, {"b4", 4}, {"b8", 8}} {
		b.Run(v.name+"/tiny-416", func(b *testing.B) {
			fn := NewWithDeps(Deps{Logger: testLogger(b)})
			cfg := modelConfig(models.get(b, darknet.KindTiny), map[string]string{
				"BATCH_MAX": fmt.Sprint(v.max), "BATCH_WINDOW": "50ms", "CLASS_MAP": "knife=knife"})
			if err := fn.Start(context.Background(), cfg); err != nil {
				b.Fatal(err)
			}
			defer fn.Stop(context.Background())
			e := motionEvent(b, "bench", jpg, nil)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				var wg sync.WaitGroup
				for k := 0; k < frames; k++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						if _, err := fn.Handle(context.Background(), e); err != nil && statusOf(err) != 500 {
							b.Error(err)
						}
					}()
				}
				wg.Wait()
			}
			b.StopTimer()
			perFrame := b.Elapsed().Seconds() / float64(b.N*frames)
			b.ReportMetric(1/perFrame, "frames/s")
			b.ReportMetric(perFrame*1000, "ms/frame")
		})
	}
}

// BenchmarkColdStart measures instance start to ready with the generated
// YOLOv4-tiny: baseline is a bare ReadNet plus first forward pass; edgewatch
// is New + Start (file checks, ReadNet, backend choice, warm-up, batcher)
// until Ready answers true.
func BenchmarkColdStart(b *testing.B) {
	models := newBenchModels(b)
	b.Run("baseline/tiny-416", func(b *testing.B) {
		yolo.SetThreads(benchThreads)
		f := models.get(b, darknet.KindTiny)
		img := gocv.NewMatWithSize(416, 416, gocv.MatTypeCV8UC3)
		defer img.Close()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			net := gocv.ReadNet(f.Weights, f.Cfg)
			blob := gocv.BlobFromImage(img, 1.0/255, image.Pt(416, 416), gocv.NewScalar(0, 0, 0, 0), true, false)
			net.SetInput(blob, "")
			out := net.Forward("")
			out.Close()
			blob.Close()
			net.Close()
		}
		b.StopTimer()
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "cold-start-ms")
	})
	b.Run("edgewatch/tiny-416", func(b *testing.B) {
		cfg := modelConfig(models.get(b, darknet.KindTiny), nil)
		b.ResetTimer()
		var total time.Duration
		for i := 0; i < b.N; i++ {
			began := time.Now()
			fn := NewWithDeps(Deps{Logger: testLogger(b)})
			if err := fn.Start(context.Background(), cfg); err != nil {
				b.Fatal(err)
			}
			if ok, _ := fn.Ready(context.Background()); !ok {
				b.Fatal("not ready after Start")
			}
			total += time.Since(began)
			b.StopTimer()
			fn.Stop(context.Background())
			b.StartTimer()
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "cold-start-ms")
	})
}
