package function

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/eventlog"
	"github.com/edgewatch/edgewatch/functions/motion-source/internal/contract"
	"github.com/edgewatch/edgewatch/functions/motion-source/internal/syncbuf"
	"github.com/edgewatch/edgewatch/functions/motion-source/region"
	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
	"github.com/prometheus/client_golang/prometheus"
	"gocv.io/x/gocv"
)

// The moving-object scene of the contract test: 640×360 so that a 128-px
// region is smaller than the frame and its position means something.
var movingScene = samplevideo.Scene{Width: 640, Height: 360, Frames: 75, Object: true, ObjectStart: 10, ObjectSize: 60}

func TestMotionEventsFollowTheContract(t *testing.T) {
	sk := newSink(t, http.StatusAccepted)
	moving := clip(t, "moving.avi", movingScene)
	eventLog := t.TempDir() + "/events.jsonl"
	s, reg, logs := started(t, map[string]string{
		KeyEventLog:       eventLog,
		KeySink:           sk.srv.URL,
		KeyOverrides:      `{"extensions":{"site":"depot7"}}`,
		KeyModelInputSize: "128",
		KeyCameras: fmt.Sprintf(`cameras:
- id: gate-1
  url: %s
  fps: 5
  location: {lat: 37.5665, lon: 126.978}
`, moving),
	})
	eventually(t, 20*time.Second, "the file to be read and its events sent", func() bool {
		page, _ := status(t, s)
		c := camStatus(page, "gate-1")
		// The last progress line is written once the queue has drained.
		return c.Done && c.Queued == 0 && c.EventsSent+c.EventsFailed+c.EventsDropped > 0 &&
			int(c.EventsSent) == len(sk.events()) && strings.Contains(logs.String(), "events sent")
	})
	evs := sk.events()
	// One object crossing for 2.6 s (13 analysed frames): sent when
	// confirmed, then when it leaves the 128-px image last sent for it or
	// its refresh is due — not on every analysed frame.
	if len(evs) < 2 || len(evs) > 8 {
		t.Fatalf("%d motion events for one object crossing the scene for 2.6 s, want 2–8", len(evs))
	}
	firstTrack := evs[0].event.Extensions()[contract.ExtTrack]
	if f := metric(t, reg, "edgewatch_motion_source_events_failed_total", nil); f != 0 {
		t.Errorf("%v events failed", f)
	}
	for _, stage := range []string{"decode", "gate", "region", "send"} {
		if n := metric(t, reg, "edgewatch_motion_source_stage_seconds", map[string]string{"camera": "gate-1", "stage": stage}); n == 0 {
			t.Errorf("stage %s was never timed", stage)
		}
	}
	lastX := -1
	for i, r := range evs {
		e := r.event
		if r.header.Get("Content-Type") != contract.ContentTypeJPEG || r.header.Get("Ce-Specversion") != "1.0" {
			t.Fatalf("event %d not in binary mode: %v", i, r.header)
		}
		if e.Type() != contract.TypeMotionDetected || e.Source() != contract.CameraSource("gate-1") || e.DataContentType() != contract.ContentTypeJPEG {
			t.Errorf("event %d: type %q source %q content type %q", i, e.Type(), e.Source(), e.DataContentType())
		}
		if e.ID() == "" || e.Time().IsZero() {
			t.Errorf("event %d: no id or time", i)
		}
		ext := e.Extensions()
		if ext[contract.ExtCamera] != "gate-1" || ext["site"] != "depot7" || ext[contract.ExtLat] != "37.5665" || ext[contract.ExtLon] != "126.978" {
			t.Errorf("event %d: extensions %v", i, ext)
		}
		num := func(name string) int {
			v, err := strconv.Atoi(r.header.Get("Ce-" + name))
			if err != nil {
				t.Fatalf("event %d: %s = %q is not an integer", i, name, r.header.Get("Ce-"+name))
			}
			return v
		}
		if num(contract.ExtFrameWidth) != 640 || num(contract.ExtFrameHeight) != 360 {
			t.Errorf("event %d: frame %dx%d", i, num(contract.ExtFrameWidth), num(contract.ExtFrameHeight))
		}
		min := image.Pt(num(contract.ExtRegionX), num(contract.ExtRegionY))
		reg := image.Rectangle{Min: min, Max: min.Add(image.Pt(num(contract.ExtRegionW), num(contract.ExtRegionH)))}
		if reg.Dx() < 128 || reg.Dy() < 128 || !reg.In(image.Rect(0, 0, 640, 360)) {
			t.Errorf("event %d: region %v", i, reg)
		}
		// Never more pixels than the detector's input.
		want := region.FitSize(reg.Size(), 128)
		img, err := gocv.IMDecode(e.Data(), gocv.IMReadColor)
		if err != nil || img.Cols() != want.X || img.Rows() != want.Y {
			t.Errorf("event %d: body is not a %dx%d JPEG (%v, %dx%d)", i, want.X, want.Y, err, img.Cols(), img.Rows())
		}
		img.Close()
		// One object, one track, named in every event.
		if ext[contract.ExtTrack] == nil || ext[contract.ExtTrack] != firstTrack || ext[contract.ExtTracks] != firstTrack {
			t.Errorf("event %d: track %v, tracks %v; want the one track %v", i, ext[contract.ExtTrack], ext[contract.ExtTracks], firstTrack)
		}
		// A file read as fast as it decodes is stamped on its own clock.
		if span := e.Time().Sub(evs[0].event.Time()); span < 0 || span > 3*time.Second {
			t.Errorf("event %d: %v after the first, beyond the clip's 3 s", i, span)
		}
		// The region must hold the object as it was in one of the frames.
		covered := false
		for f := 0; f < movingScene.Frames; f++ {
			if box, ok := movingScene.ObjectBox(f); ok && box.In(reg) {
				covered = true
			}
		}
		if !covered {
			t.Errorf("event %d: region %v holds the object in no frame", i, reg)
		}
		if reg.Min.X < lastX {
			t.Errorf("event %d: region went back from x=%d to %d while the object moves right", i, lastX, reg.Min.X)
		}
		lastX = reg.Min.X
	}
	// EVENT_LOG has one line per delivered event, as sent.
	raw, err := os.ReadFile(eventLog)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	if len(lines) != len(evs) {
		t.Fatalf("event log has %d lines for %d events:\n%s", len(lines), len(evs), raw)
	}
	for i, line := range lines {
		var rec eventlog.Record
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("line %d: %v: %s", i+1, err, line)
		}
		e := evs[i].event
		if rec.ID != e.ID() || rec.Camera != "gate-1" || !rec.Time.Equal(e.Time()) || rec.Bytes != len(e.Data()) ||
			rec.Kind != "crop" || rec.Track != e.Extensions()[contract.ExtTrack] || len(rec.Tracks) != 1 {
			t.Errorf("line %d: %+v does not describe event %s", i+1, rec, e)
		}
	}
	if !strings.Contains(logs.String(), "gate-1: ") || !strings.Contains(logs.String(), "events sent") {
		t.Errorf("no progress line for a file read once:\n%s", logs)
	}
}

func TestOnlyMotionIsForwarded(t *testing.T) {
	sk := newSink(t, http.StatusOK)
	band := "[[0, 0.3], [1, 0.3], [1, 0.7], [0, 0.7]]"
	s, reg, _ := started(t, map[string]string{
		KeySink: sk.srv.URL,
		KeyCameras: fmt.Sprintf(`[
  {"id": "moving", "url": %q},
  {"id": "static", "url": %q},
  {"id": "lights", "url": %q},
  {"id": "masked", "url": %q, "masks": [%s]}
]`, clip(t, "m.avi", samplevideo.Scene{Object: true, ObjectStart: 10, Frames: 60}),
			clip(t, "s.avi", samplevideo.Scene{Frames: 60}),
			clip(t, "l.avi", samplevideo.Scene{Frames: 80, LightStepAt: 30}),
			clip(t, "k.avi", samplevideo.Scene{Object: true, ObjectStart: 10, Frames: 60}), band),
	})
	eventually(t, 20*time.Second, "every file to be read", func() bool {
		page, _ := status(t, s)
		for _, c := range page.Cameras {
			if !c.Done || c.Queued > 0 {
				return false
			}
		}
		return page.Ready
	})
	by := sk.byCamera()
	if len(by["moving"]) == 0 {
		t.Fatal("no events for the moving object (control)")
	}
	for _, cam := range []string{"static", "lights", "masked"} {
		if n := len(by[cam]); n != 0 {
			t.Errorf("%s: %d events, want none", cam, n)
		}
		if a := metric(t, reg, "edgewatch_motion_source_frames_analysed_total", map[string]string{"camera": cam}); a < 10 {
			t.Errorf("%s: %v frames analysed", cam, a)
		}
	}
	if r := metric(t, reg, "edgewatch_motion_source_recalibrations_total", map[string]string{"camera": "lights"}); r < 1 {
		t.Error("the change of lighting was not counted")
	}
	dec := metric(t, reg, "edgewatch_motion_source_frames_decoded_total", map[string]string{"camera": "static"})
	an := metric(t, reg, "edgewatch_motion_source_frames_analysed_total", map[string]string{"camera": "static"})
	if dec != 60 || an != 12 {
		t.Errorf("static: %v decoded, %v analysed; want 60 and 12 (5 of 25 fps)", dec, an)
	}
}

func TestFailingCamerasAreRetriedWhileOthersSend(t *testing.T) {
	sk := newSink(t, http.StatusOK)
	const password = "pa55-W0rd-never-logged"
	s, reg, logs := started(t, map[string]string{
		KeySink:             sk.srv.URL,
		KeyReconnectInitial: "20ms",
		KeyReconnectMax:     "100ms",
		"CAM_PASSWORD":      password,
		KeyCameras: fmt.Sprintf(`cameras:
- {id: rtsp-down, url: "rtsp://admin:${CAM_PASSWORD}@127.0.0.1:1/stream", transport: udp}
- {id: mjpeg-down, url: "http://viewer:${CAM_PASSWORD}@127.0.0.1:1/video.mjpg"}
- {id: yard, url: %q, loop: true}
`, clip(t, "yard.avi", samplevideo.Scene{Object: true, ObjectStart: 5, Frames: 40})),
	})
	eventually(t, 20*time.Second, "reconnects and events from the good camera", func() bool {
		return metric(t, reg, "edgewatch_motion_source_reconnects_total", map[string]string{"camera": "rtsp-down"}) >= 3 &&
			metric(t, reg, "edgewatch_motion_source_reconnects_total", map[string]string{"camera": "mjpeg-down"}) >= 3 &&
			len(sk.byCamera()["yard"]) >= 3
	})
	for _, cam := range []string{"rtsp-down", "mjpeg-down"} {
		opens := metric(t, reg, "edgewatch_motion_source_stream_errors_total", map[string]string{"camera": cam, "kind": "open"})
		if opens < 3 {
			t.Errorf("%s: %v open errors counted", cam, opens)
		}
	}
	// Two cameras down do not make the process unready: it works, and says
	// which cameras are down in its status and metrics.
	if ready, _ := s.Ready(context.Background()); !ready {
		t.Error("not ready although the process works and one camera sends")
	}
	page, raw := status(t, s)
	if c := camStatus(page, "rtsp-down"); !strings.Contains(c.URL, "xxxxx") || c.Ready {
		t.Errorf("status of the down camera: %+v", c)
	}
	if up := metric(t, reg, "edgewatch_motion_source_camera_up", map[string]string{"camera": "mjpeg-down"}); up != 0 {
		t.Errorf("camera_up of the down camera = %v", up)
	}
	resp, err := http.Get("http://" + s.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	scraped, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(scraped), `edgewatch_motion_source_reconnects_total{camera="rtsp-down"}`) {
		t.Error("the metrics endpoint does not serve the reconnect counter")
	}
	for where, text := range map[string]string{"logs": logs.String(), "status": raw, "metrics": string(scraped)} {
		if strings.Contains(text, password) {
			t.Errorf("the camera password appears in the %s", where)
		}
	}
	if !strings.Contains(logs.String(), "rtsp://admin:xxxxx@127.0.0.1:1/stream") {
		t.Errorf("the down camera is not logged with its URL redacted:\n%.2000s", logs)
	}
}

func TestBrokenFilesAndADownSinkAreCounted(t *testing.T) {
	sk := newSink(t, http.StatusServiceUnavailable)
	garbage := t.TempDir() + "/garbage.avi"
	if err := os.WriteFile(garbage, []byte(strings.Repeat("not a video ", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	truncated := clip(t, "cut.avi", samplevideo.Scene{Frames: 100})
	if err := samplevideo.Truncate(truncated, 0.5); err != nil {
		t.Fatal(err)
	}
	s, reg, logs := started(t, map[string]string{
		KeySink:             sk.srv.URL,
		KeySendBackoff:      "5ms",
		KeySendBackoffMax:   "20ms",
		KeyReconnectInitial: "20ms",
		KeyReconnectMax:     "50ms",
		KeyCameras: fmt.Sprintf(`cameras:
- {id: garbage, url: %q}
- {id: truncated, url: %q}
- {id: busy, url: %q, queue: 2}
- {id: missing, url: /nonexistent/clip.mp4}
`, garbage, truncated, clip(t, "busy.avi", samplevideo.Scene{Object: true, ObjectStart: 5, Frames: 100})),
	})
	label := func(cam string) map[string]string { return map[string]string{"camera": cam} }
	eventually(t, 20*time.Second, "errors to be counted and the busy camera's events held", func() bool {
		return metric(t, reg, "edgewatch_motion_source_stream_errors_total", map[string]string{"camera": "garbage", "kind": "open"}) >= 2 &&
			metric(t, reg, "edgewatch_motion_source_stream_errors_total", map[string]string{"camera": "truncated", "kind": "read"}) >= 1 &&
			metric(t, reg, "edgewatch_motion_source_events_buffered_total", label("busy")) >= 3
	})
	if sent := metric(t, reg, "edgewatch_motion_source_events_sent_total", label("busy")); sent != 0 {
		t.Errorf("sink answering 503: %v sent", sent)
	}
	// The sink comes back: the file, which waited, goes on and everything
	// it held is delivered.
	sk.status.Store(http.StatusAccepted)
	eventually(t, 20*time.Second, "the busy file to be read and its queue drained", func() bool {
		p, _ := status(t, s)
		return camStatus(p, "busy").Done && camStatus(p, "busy").Queued == 0
	})
	sent := metric(t, reg, "edgewatch_motion_source_events_sent_total", label("busy"))
	failed := metric(t, reg, "edgewatch_motion_source_events_failed_total", label("busy"))
	dropped := metric(t, reg, "edgewatch_motion_source_events_dropped_total", label("busy"))
	motionFrames := metric(t, reg, "edgewatch_motion_source_motion_frames_total", label("busy"))
	// A file waits for its sender instead of dropping: every image queued
	// was delivered once the sink took events again.
	images := metric(t, reg, "edgewatch_motion_source_images_total", map[string]string{"camera": "busy", "kind": "crop"}) +
		metric(t, reg, "edgewatch_motion_source_images_total", map[string]string{"camera": "busy", "kind": "frame"})
	if motionFrames < 1 || dropped != 0 || failed != 0 || sent != images || len(sk.events()) != int(images) {
		t.Errorf("motion frames %v, images %v, sent %v (sink got %d), failed %v, dropped %v: a file's queue must wait, not drop",
			motionFrames, images, sent, len(sk.events()), failed, dropped)
	}
	if dec := metric(t, reg, "edgewatch_motion_source_frames_decoded_total", label("truncated")); dec == 0 || dec >= 100 {
		t.Errorf("truncated file: %v frames decoded", dec)
	}
	// The operator is told which file is missing and which is not a video,
	// and when a file ends.
	text := logs.String()
	for _, want := range []string{"file not found: /nonexistent/clip.mp4", "not a video file", "end of video file"} {
		if !strings.Contains(text, want) {
			t.Errorf("the logs do not say %q:\n%.3000s", want, text)
		}
	}
	// The process still serves.
	if p, _ := status(t, s); len(p.Cameras) != 4 {
		t.Errorf("status after errors: %+v", p)
	}
	// The sink comes back: new events get through.
	sk.status.Store(http.StatusOK)
}

func TestHandleServesOnlyStatus(t *testing.T) {
	s := New()
	rec := httptest.NewRecorder()
	s.Handle(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}")))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Fatalf("POST: %d", rec.Code)
	}
	page, _ := status(t, s)
	if page.Ready || len(page.Cameras) != 0 {
		t.Fatalf("unstarted: %+v", page)
	}
}

func TestStartRejectsBadConfig(t *testing.T) {
	file := clip(t, "c.avi", samplevideo.Scene{Frames: 5})
	ok := fmt.Sprintf(`[{"id": "c", "url": %q}]`, file)
	cases := map[string]map[string]string{
		"no sink":              {KeyCameras: ok},
		"no cameras":           {KeySink: "http://127.0.0.1:1"},
		"bad yaml":             {KeySink: "http://127.0.0.1:1", KeyCameras: "[{"},
		"unknown field":        {KeySink: "http://127.0.0.1:1", KeyCameras: fmt.Sprintf(`[{"id": "c", "url": %q, "fsp": 5}]`, file)},
		"bad id":               {KeySink: "http://127.0.0.1:1", KeyCameras: fmt.Sprintf(`[{"id": "../c", "url": %q}]`, file)},
		"duplicate id":         {KeySink: "http://127.0.0.1:1", KeyCameras: fmt.Sprintf(`[{"id": "c", "url": %q}, {"id": "c", "url": %q}]`, file, file)},
		"unset variable":       {KeySink: "http://127.0.0.1:1", KeyCameras: `[{"id": "c", "url": "rtsp://u:${NOPE}@h/s"}]`},
		"override of contract": {KeySink: "http://127.0.0.1:1", KeyCameras: ok, KeyOverrides: `{"extensions":{"camera":"x"}}`},
		"bad mask":             {KeySink: "http://127.0.0.1:1", KeyCameras: fmt.Sprintf(`[{"id": "c", "url": %q, "masks": [[[0,0],[2,0],[1,1]]]}]`, file)},
		"bad duration":         {KeySink: "http://127.0.0.1:1", KeyCameras: ok, KeySendBackoff: "soon"},
		"bad stop timeout":     {KeySink: "http://127.0.0.1:1", KeyCameras: ok, KeyStopTimeout: "-1s"},
		"missing file":         {KeySink: "http://127.0.0.1:1", KeyCamerasFile: "/nonexistent/cameras.yaml"},
		"unwritable event log": {KeySink: "http://127.0.0.1:1", KeyCameras: ok, KeyEventLog: "/nonexistent/dir/events.jsonl"},
	}
	for name, cfg := range cases {
		t.Run(name, func(t *testing.T) {
			cfg[KeyMetricsAddress] = "127.0.0.1:0"
			s := NewWithDeps(Deps{Progress: io.Discard})
			if err := s.Start(context.Background(), cfg); err == nil {
				s.Stop(context.Background())
				t.Fatal("started")
			}
		})
	}
}

func TestCamerasFileAndStop(t *testing.T) {
	sk := newSink(t, http.StatusOK)
	path := t.TempDir() + "/cameras.yaml"
	yml := fmt.Sprintf("cameras:\n  - id: lobby\n    url: file://%s\n    loop: true\n", clip(t, "lobby.avi", samplevideo.Scene{Frames: 20}))
	if err := os.WriteFile(path, []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	s := NewWithDeps(Deps{Progress: io.Discard, Logger: discardLogger()})
	if err := s.Start(context.Background(), map[string]string{KeySink: sk.srv.URL, KeyCamerasFile: path, KeyMetricsAddress: "127.0.0.1:0"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 10*time.Second, "ready", func() bool { r, _ := s.Ready(context.Background()); return r })
	addr := s.MetricsAddr()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Error("metrics still served after Stop")
	}
	if r, _ := s.Ready(context.Background()); r {
		t.Error("ready after Stop")
	}
}

func TestCooldownLimitsPersistentMotion(t *testing.T) {
	sk := newSink(t, http.StatusOK)
	// 4 s of an object crossing the scene: 20 analysed frames, nearly all with motion.
	scene := samplevideo.Scene{Frames: 100, Object: true, ObjectStart: 5}
	s, reg, _ := started(t, map[string]string{
		KeySink:    sk.srv.URL,
		KeyCameras: fmt.Sprintf(`[{"id": "hall", "url": %q, "cooldown": "1s", "region": {"max_regions": 1}, "track": {"refresh": "off"}}]`, clip(t, "hall.avi", scene)),
	})
	eventually(t, 20*time.Second, "the file to be read", func() bool {
		p, _ := status(t, s)
		c := camStatus(p, "hall")
		return c.Done && c.Queued == 0
	})
	label := map[string]string{"camera": "hall"}
	motionFrames := metric(t, reg, "edgewatch_motion_source_motion_frames_total", label)
	limited := metric(t, reg, "edgewatch_motion_source_events_rate_limited_total", label)
	sent := len(sk.events())
	// One emission per second of video at most: ≤ 4 (5 with rounding at the edges).
	if sent < 2 || sent > 5 {
		t.Errorf("%d events for 4 s of persistent motion with a 1 s cooldown", sent)
	}
	if motionFrames < 10 || limited != motionFrames-float64(sent) {
		t.Errorf("motion frames %v, rate limited %v, sent %d", motionFrames, limited, sent)
	}
}

func TestStopTimeoutBoundsTheFlushAndCountsWhatWasNotSent(t *testing.T) {
	sk := newSink(t, http.StatusServiceUnavailable)
	logs := &syncbuf.Buffer{}
	reg := prometheus.NewRegistry()
	s := NewWithDeps(Deps{Logger: slog.New(slog.NewTextHandler(logs, nil)), Registry: reg, Progress: io.Discard})
	err := s.Start(context.Background(), map[string]string{
		KeySink:           sk.srv.URL,
		KeySendBackoff:    "20ms",
		KeyStopTimeout:    "300ms",
		KeyMetricsAddress: "127.0.0.1:0",
		KeyCameras:        fmt.Sprintf(`[{"id": "busy", "url": %q, "loop": true}]`, clip(t, "busy.avi", samplevideo.Scene{Object: true, ObjectStart: 2, Frames: 60})),
	})
	if err != nil {
		t.Fatal(err)
	}
	label := map[string]string{"camera": "busy"}
	eventually(t, 20*time.Second, "an event being retried", func() bool { return sk.posts.Load() >= 2 })

	stopped := make(chan error, 1)
	go func() { stopped <- s.Stop(context.Background()) }()
	select {
	case err := <-stopped:
		if err == nil || !strings.Contains(err.Error(), "not drained") {
			t.Errorf("Stop = %v, want an error saying the queues were not drained", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Stop ignored STOP_TIMEOUT and kept retrying")
	}
	// Every image queued is counted as sent, failed or dropped.
	images := metric(t, reg, "edgewatch_motion_source_images_total", map[string]string{"camera": "busy", "kind": "crop"}) +
		metric(t, reg, "edgewatch_motion_source_images_total", map[string]string{"camera": "busy", "kind": "frame"})
	failed := metric(t, reg, "edgewatch_motion_source_events_failed_total", label)
	dropped := metric(t, reg, "edgewatch_motion_source_events_dropped_total", label)
	if sent := metric(t, reg, "edgewatch_motion_source_events_sent_total", label); sent != 0 || failed+dropped < images || images < 1 {
		t.Errorf("images %v: sent %v, failed %v, dropped %v; every event not sent must be counted", images, sent, failed, dropped)
	}
	if !strings.Contains(logs.String(), "camera stopped") || !strings.Contains(logs.String(), "events_failed=") {
		t.Errorf("Stop did not log what each camera could not send:\n%s", logs.String())
	}
}
