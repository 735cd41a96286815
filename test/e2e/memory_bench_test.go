//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"fmt"
	"image/color"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
)

// pidPattern finds the runner's "process started" log lines.
var pidPattern = regexp.MustCompile(`msg="process started".*? process=([a-z-]+) pid=(\d+)`)

// pidOf returns the process id the runner last started for a function.
func (p *pipeline) pidOf(name string) int {
	pid := 0
	for _, m := range pidPattern.FindAllStringSubmatch(p.log.String(), -1) {
		if m[1] == name {
			pid, _ = strconv.Atoi(m[2])
		}
	}
	return pid
}

// rssMiB is a process's resident memory in MiB, or 0 when it does not run.
func rssMiB(pid int) float64 {
	if pid == 0 {
		return 0
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// BenchmarkMemory measures what the prototype's table showed: detect's
// resident memory scaled to zero, loaded and idle, and under load (RSS on
// this machine's CPU; no GPU here), with the demo model `edgewatch up`
// runs and with a generated model of YOLOv4's layout and size (random
// weights: the memory of YOLOv4, not its detections), and motion-source's
// memory per camera. Each reports the largest RSS seen in MiB.
func BenchmarkMemory(b *testing.B) {
	full, err := darknet.Generate(darknet.KindFull, filepath.Join(b.TempDir(), "yolov4"))
	if err != nil {
		b.Fatal(err)
	}
	for _, model := range []struct {
		name string
		env  []string
	}{
		{"demo", nil},
		{"yolov4-layout", []string{"MODEL_CFG=" + full.Files.Cfg, "MODEL_WEIGHTS=" + full.Files.Weights, "MODEL_NAMES=" + full.Files.Names}},
	} {
		b.Run("detect/"+model.name, func(b *testing.B) { benchmarkDetectMemory(b, model.env) })
	}
	// motion-source with one camera and with four: the difference over
	// three is one camera's share.
	perCamera := map[int]float64{}
	for _, n := range []int{1, 4} {
		b.Run(fmt.Sprintf("motion-source/cameras-%d", n), func(b *testing.B) {
			clip := filepath.Join(b.TempDir(), "street.avi")
			scene := samplevideo.Scene{Width: 1280, Height: 720, FPS: 25, Frames: 200, Object: true, ObjectSize: 160,
				ObjectStart: 50, ObjectColor: color.RGBA{B: 255, A: 255}}
			if err := samplevideo.Write(clip, scene); err != nil {
				b.Fatal(err)
			}
			var cams []string
			for i := range n {
				cams = append(cams, fmt.Sprintf(`{"id":"mem-%d","url":%q,"loop":true,"fps":5,"location":{"lat":37.5665,"lon":126.978}}`, i+1, clip))
			}
			in, v := newInbox(b), vlm(b)
			p := startPipeline(b, options{env: outsideEnv(in, v), cameras: "[" + strings.Join(cams, ",") + "]", scaleToZeroAfter: time.Minute})
			eventually(b, time.Minute, "every camera analysing frames", func() bool {
				for i := range n {
					if p.metric("motion-source", "edgewatch_motion_source_frames_analysed_total", fmt.Sprintf(`camera="mem-%d"`, i+1)) < 25 {
						return false
					}
				}
				return true
			})
			peak := 0.0
			for b.Loop() {
				peak = max(peak, rssMiB(p.pidOf("motion-source")))
				time.Sleep(10 * time.Millisecond)
			}
			if peak == 0 {
				b.Fatal("no motion-source process")
			}
			perCamera[n] = peak
			b.ReportMetric(peak, "rss-MiB")
			if one, ok := perCamera[1]; ok && n > 1 {
				b.ReportMetric((peak-one)/float64(n-1), "MiB/camera")
			}
		})
	}
}

// benchmarkDetectMemory runs detect with modelEnv added to its environment.
func benchmarkDetectMemory(b *testing.B, modelEnv []string) {
	const idle = 5 * time.Second
	in, v := newInbox(b), vlm(b)
	p := startPipeline(b, options{env: append(outsideEnv(in, v), modelEnv...), scaleToZeroAfter: idle})
	ps := newPoster(b, p.brokerURL(), knifeCrop(b, 416))
	runner := p.ports.metrics()
	scaledToZero := func() bool {
		return p.metricPort(runner, "edgewatch_runner_scale_events_total", `function="detect"`, `direction="down"`) >=
			p.metricPort(runner, "edgewatch_runner_scale_events_total", `function="detect"`, `direction="up"`)
	}
	send := func(id string) error { return ps.send(context.Background(), "bench-mem", id) }
	b.Run("idle-scaled-to-zero", func(b *testing.B) {
		eventually(b, time.Minute, "detect at zero", scaledToZero)
		peak := 0.0
		for b.Loop() {
			if !scaledToZero() {
				b.Fatal("detect started while idle")
			}
			peak = max(peak, rssMiB(p.pidOf("detect")))
		}
		b.ReportMetric(peak, "rss-MiB")
	})
	b.Run("loaded", func(b *testing.B) {
		if err := send("bench-mem-first"); err != nil {
			b.Fatal(err)
		}
		eventually(b, 2*time.Minute, "first forward pass", func() bool {
			return p.metric("detect", "edgewatch_detect_forward_passes_total") >= 1
		})
		peak := 0.0
		for b.Loop() {
			peak = max(peak, rssMiB(p.pidOf("detect")))
		}
		if peak == 0 {
			b.Fatal("no detect process")
		}
		b.ReportMetric(peak, "rss-MiB")
	})
	b.Run("under-load", func(b *testing.B) {
		// Four senders keep detect's batches full while RSS is sampled.
		var wg sync.WaitGroup
		ids := make(chan string)
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for id := range ids {
					if err := send(id); err != nil {
						b.Error(err)
					}
				}
			}()
		}
		peak := 0.0
		for i := 0; b.Loop(); i++ {
			ids <- fmt.Sprintf("bench-mem-%d-%d", b.N, i)
			peak = max(peak, rssMiB(p.pidOf("detect")))
		}
		close(ids)
		wg.Wait()
		// Detect still works through what the senders queued: keep sampling.
		for end := time.Now().Add(5 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			peak = max(peak, rssMiB(p.pidOf("detect")))
		}
		b.ReportMetric(peak, "rss-MiB")
	})
}
