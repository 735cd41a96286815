package main

import (
	"bytes"
	"image"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
)

// TestMain lets the test binary stand in for the detect binary: with
// DETECT_RUN_MAIN=1 it runs main instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("DETECT_RUN_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startProcess runs detect as a child process with the given model and
// returns its address and a stop function (SIGTERM, wait), also run at cleanup.
func startProcess(t testing.TB, files darknet.Files) (func(), string) {
	t.Helper()
	addr := freePort(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Dir = t.TempDir() // func-go reads ./cfg from here: none
	cmd.Env = append(os.Environ(), "DETECT_RUN_MAIN=1", "LISTEN_ADDRESS="+addr, "METRICS_ADDRESS="+freePort(t),
		"MODEL_CFG="+files.Cfg, "MODEL_WEIGHTS="+files.Weights, "MODEL_NAMES="+files.Names, "DNN_BACKEND=cpu")
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				_ = cmd.Process.Kill()
				<-done
				t.Errorf("detect did not stop on SIGTERM; logs:\n%s", logs.String())
			}
		})
	}
	t.Cleanup(stop)
	return stop, "http://" + addr
}

// waitReady polls /health/readiness until it answers 200.
func waitReady(t testing.TB, url string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(url + "/health/readiness")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(2 * time.Millisecond)
	}
	t.Fatal("detect did not become ready within 60 s")
}

func TestProcessServesMotionEvents(t *testing.T) {
	g, err := darknet.Generate(darknet.KindPattern, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	_, url := startProcess(t, g.Files)
	waitReady(t, url)

	img := gocv.NewMatWithSize(416, 416, gocv.MatTypeCV8UC3)
	defer img.Close()
	region := img.Region(image.Rect(64, 64, 96, 96))
	region.SetTo(gocv.NewScalar(0, 0, 255, 0)) // BGR red
	region.Close()
	buf, err := gocv.IMEncode(gocv.JPEGFileExt, img)
	if err != nil {
		t.Fatal(err)
	}
	jpg := bytes.Clone(buf.GetBytes())
	buf.Close()

	req, _ := http.NewRequest(http.MethodPost, url+"/", bytes.NewReader(jpg))
	for k, v := range map[string]string{"content-type": "image/jpeg", "ce-specversion": "1.0", "ce-id": "proc-1",
		"ce-type": "dev.edgewatch.motion.detected", "ce-source": "/cameras/cam-9", "ce-camera": "cam-9"} {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ce-id") != "proc-1.fire" || resp.Header.Get("ce-type") != "dev.edgewatch.detection.fire" {
		t.Fatalf("HTTP %d, reply id %q type %q", resp.StatusCode, resp.Header.Get("ce-id"), resp.Header.Get("ce-type"))
	}
}

func TestProcessExitsOnABadModel(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), "DETECT_RUN_MAIN=1", "LISTEN_ADDRESS="+freePort(t), "METRICS_ADDRESS=off",
		"MODEL_CFG=/nonexistent/yolov4.cfg", "MODEL_WEIGHTS=/nonexistent/yolov4.weights", "MODEL_NAMES=/nonexistent/coco.names")
	out, err := cmd.CombinedOutput()
	if err == nil || !bytes.Contains(out, []byte("no such file")) {
		t.Fatalf("exit %v, output:\n%s", err, out)
	}
}

// BenchmarkColdStart measures process start to ready with the generated
// YOLOv4-tiny: baseline is an in-process bare ReadNet plus first forward
// pass; process execs detect and polls /health/readiness until 200.
func BenchmarkColdStart(b *testing.B) {
	g, err := darknet.Generate(darknet.KindTiny, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Run("baseline/tiny-416", func(b *testing.B) {
		img := gocv.NewMatWithSize(416, 416, gocv.MatTypeCV8UC3)
		defer img.Close()
		for i := 0; i < b.N; i++ {
			net := gocv.ReadNet(g.Files.Weights, g.Files.Cfg)
			blob := gocv.BlobFromImage(img, 1.0/255, image.Pt(416, 416), gocv.NewScalar(0, 0, 0, 0), true, false)
			net.SetInput(blob, "")
			out := net.Forward("")
			out.Close()
			blob.Close()
			net.Close()
		}
		b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "cold-start-ms")
	})
	b.Run("process/tiny-416", func(b *testing.B) {
		var total time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			began := time.Now()
			b.StartTimer()
			stop, url := startProcess(b, g.Files)
			waitReady(b, url)
			total += time.Since(began)
			b.StopTimer()
			stop()
			b.StartTimer()
		}
		b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "cold-start-ms")
	})
}
