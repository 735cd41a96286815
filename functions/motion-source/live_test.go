package function

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
	"gocv.io/x/gocv"
)

// mjpegCamera is a real HTTP MJPEG camera on 127.0.0.1:0: it streams the
// scene as multipart/x-mixed-replace JPEG parts at the scene's frame rate and
// hangs up after `frames` frames, as a flaky camera would.
func mjpegCamera(t *testing.T, scene samplevideo.Scene, frames int) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	// Pre-encode the frames so that serving costs no OpenCV work.
	r := samplevideo.NewRenderer(scene)
	defer r.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	var jpegs [][]byte
	for i := 0; i < scene.Frames; i++ {
		r.Render(i, &frame)
		buf, err := gocv.IMEncode(gocv.JPEGFileExt, frame)
		if err != nil {
			t.Fatal(err)
		}
		jpegs = append(jpegs, append([]byte(nil), buf.GetBytes()...))
		buf.Close()
	}
	var conns atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		conns.Add(1)
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=frame")
		fl := w.(http.Flusher)
		tick := time.NewTicker(time.Duration(float64(time.Second) / scene.FPS))
		defer tick.Stop()
		for i := 0; i < frames; i++ {
			j := jpegs[i%len(jpegs)]
			if _, err := fmt.Fprintf(w, "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(j)); err != nil {
				return
			}
			if _, err := w.Write(append(j, '\r', '\n')); err != nil {
				return
			}
			fl.Flush()
			select {
			case <-req.Context().Done():
				return
			case <-tick.C:
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &conns
}

func TestLiveMJPEGCameraReconnectsAndSends(t *testing.T) {
	sk := newSink(t, http.StatusOK)
	scene := samplevideo.Scene{FPS: 25, Frames: 50, Object: true, ObjectStart: 5}
	cam, conns := mjpegCamera(t, scene, 60) // 2.4 s per connection, then it hangs up
	_, reg, logs := started(t, map[string]string{
		KeySink:             sk.srv.URL,
		KeyReconnectInitial: "50ms",
		KeyCameras:          fmt.Sprintf(`[{"id": "porch", "url": "%s/video.mjpg", "fps": 5}]`, cam.URL),
	})
	label := map[string]string{"camera": "porch"}
	eventually(t, 30*time.Second, "events, a broken stream and a reconnect", func() bool {
		return len(sk.byCamera()["porch"]) >= 2 && conns.Load() >= 2 &&
			metric(t, reg, "edgewatch_motion_source_reconnects_total", label) >= 1
	})
	if r := metric(t, reg, "edgewatch_motion_source_stream_errors_total", map[string]string{"camera": "porch", "kind": "read"}); r < 1 {
		t.Errorf("the hang-up was not counted as a read error (%v)\n%s", r, logs)
	}
	dec := metric(t, reg, "edgewatch_motion_source_frames_decoded_total", label)
	an := metric(t, reg, "edgewatch_motion_source_frames_analysed_total", label)
	// A live stream is sampled on the wall clock: about 5 of every 25 frames.
	if an == 0 || dec < 3*an {
		t.Errorf("%v frames decoded, %v analysed; want about 5 decoded per analysed frame", dec, an)
	}
}
