package function

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"math"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/cloudevents/sdk-go/v2/event"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/internal/contract"
)

var (
	red    = darknet.PatternColor(1) // fire
	blue   = darknet.PatternColor(3) // knife
	green  = darknet.PatternColor(2) // gun
	yellow = darknet.PatternColor(0) // accident
)

// regionExt places a 208×208 crop at (600, 300) of a 1280×720 frame.
func regionExt() map[string]any {
	return map[string]any{
		contract.ExtRegionX: 600, contract.ExtRegionY: 300, contract.ExtRegionW: 208, contract.ExtRegionH: 208,
		contract.ExtFrameWidth: 1280, contract.ExtFrameHeight: 720, contract.ExtLat: "37.5665", contract.ExtLon: "126.9780",
	}
}

func TestPatternImageYieldsDetectionEventsAtTheSink(t *testing.T) {
	snk := newSink(t, 0)
	f, reg := startDetect(t, patternConfig(t, map[string]string{"K_SINK": snk.URL}))
	// In the 208-px crop a 16-px square is one 32-px cell of the 416-px network input.
	img := patternJPEG(t, 208, 208,
		square{image.Rect(48, 16, 64, 32), red},
		square{image.Rect(160, 160, 176, 176), blue})
	reply, err := f.Handle(context.Background(), motionEvent(t, "motion-1", img, regionExt()))
	if err != nil || reply != nil {
		t.Fatalf("Handle = %v, %v; want no reply and no error (events go to K_SINK)", reply, err)
	}
	got := snk.received()
	if len(got) != 2 {
		t.Fatalf("sink received %d events, want 2", len(got))
	}
	schema := detectionSchema(t)
	want := map[string]contract.Box{"fire": {X: 648, Y: 316, W: 16, H: 16}, "knife": {X: 760, Y: 460, W: 16, H: 16}}
	for _, e := range got {
		class, _ := e.Extensions()[contract.ExtClass].(string)
		d := validate(t, schema, e)
		if e.ID() != "motion-1."+class || e.Type() != contract.DetectionType(class) || e.Subject() != "motion-1" ||
			e.Source() != "/cameras/cam-1" || e.Extensions()[contract.ExtCamera] != "cam-1" || e.DataContentType() != contract.ContentTypeJSON {
			t.Errorf("event attributes: %s", e)
		}
		if d.Class != class || d.Label != class || d.MotionID != "motion-1" || d.Camera != "cam-1" || d.Model != "pattern" {
			t.Errorf("event data: %+v", d)
		}
		if d.Box != want[class] || len(d.Objects) != 1 || d.Objects[0].Box != want[class] {
			t.Errorf("%s: box %+v objects %+v, want %+v", class, d.Box, d.Objects, want[class])
		}
		if c := darknet.PatternConfidence(1); math.Abs(d.Confidence-c) > 0.03 {
			t.Errorf("%s: confidence %.4f, want %.4f ± 0.03", class, d.Confidence, c)
		}
		if d.Frame != (contract.Frame{Width: 1280, Height: 720}) || d.Location == nil || d.Location.Lat != 37.5665 || d.Location.Lon != 126.978 {
			t.Errorf("%s: frame %+v location %+v", class, d.Frame, d.Location)
		}
		raw, err := base64.StdEncoding.DecodeString(d.Image)
		if err != nil {
			t.Fatal(err)
		}
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(raw)); err != nil || cfg.Width != 16 || cfg.Height != 16 {
			t.Errorf("%s: crop image %v, %v; want a 16×16 JPEG", class, cfg, err)
		}
	}
	if n := counter(t, reg, "edgewatch_detect_detections_total", "class", "fire"); n != 1 {
		t.Errorf("fire detections counted %v, want 1", n)
	}
}

func TestDownscaledCropMapsBackToTheFrame(t *testing.T) {
	f, _ := startDetect(t, patternConfig(t, nil))
	// The 208-px JPEG stands for a 416-px region at (100, 50): crop pixels are worth 2 frame pixels.
	img := patternJPEG(t, 208, 208, square{image.Rect(32, 48, 48, 64), green})
	ext := map[string]any{contract.ExtRegionX: "100", contract.ExtRegionY: "50", contract.ExtRegionW: "416", contract.ExtRegionH: "416"}
	reply, err := f.Handle(context.Background(), motionEvent(t, "m-s", img, ext))
	if err != nil || reply == nil {
		t.Fatalf("Handle = %v, %v", reply, err)
	}
	d := validate(t, detectionSchema(t), *reply)
	if d.Box != (contract.Box{X: 164, Y: 146, W: 32, H: 32}) || d.Frame != (contract.Frame{Width: 516, Height: 466}) {
		t.Fatalf("box %+v frame %+v", d.Box, d.Frame)
	}
}

// TestLetterboxedFrameMapsBackToTheFrame sends what motion-source sends for a
// busy scene: the whole 1920×1080 frame letterboxed into 416×416 (content at
// the top left, grey below), standing for the 1920-px square at (0, 0).
func TestLetterboxedFrameMapsBackToTheFrame(t *testing.T) {
	f, _ := startDetect(t, patternConfig(t, nil))
	img := patternJPEG(t, 416, 416, square{image.Rect(64, 96, 96, 128), green})
	ext := map[string]any{contract.ExtRegionX: 0, contract.ExtRegionY: 0, contract.ExtRegionW: 1920, contract.ExtRegionH: 1920,
		contract.ExtFrameWidth: 1920, contract.ExtFrameHeight: 1080, contract.ExtTrack: "7001", contract.ExtTracks: "7001,7002"}
	reply, err := f.Handle(context.Background(), motionEvent(t, "m-lb", img, ext))
	if err != nil || reply == nil {
		t.Fatalf("Handle = %v, %v", reply, err)
	}
	d := validate(t, detectionSchema(t), *reply)
	// 1920/416 frame pixels per image pixel: 64 → 295.4, 96 → 443.1, 128 → 590.8.
	if d.Box != (contract.Box{X: 295, Y: 443, W: 148, H: 148}) || d.Frame != (contract.Frame{Width: 1920, Height: 1080}) {
		t.Fatalf("box %+v frame %+v", d.Box, d.Frame)
	}
	if reply.Extensions()[contract.ExtTrack] != "7001" || reply.Extensions()[contract.ExtTracks] != "7001,7002" {
		t.Fatalf("track extensions not carried: %v", reply.Extensions())
	}
	bad := map[string]any{contract.ExtTrack: "seven"}
	if _, err := f.Handle(context.Background(), motionEvent(t, "m-bad", img, bad)); statusOf(err) != http.StatusBadRequest {
		t.Fatalf("a non-numeric track answered %v, want 400", err)
	}
}

func TestRedeliveryProducesTheSameEventIDs(t *testing.T) {
	snk := newSink(t, 0)
	f, _ := startDetect(t, patternConfig(t, map[string]string{"K_SINK": snk.URL}))
	img := patternJPEG(t, 416, 416, square{image.Rect(0, 0, 32, 32), green})
	for i := 0; i < 2; i++ {
		if _, err := f.Handle(context.Background(), motionEvent(t, "m-7", img, nil)); err != nil {
			t.Fatal(err)
		}
	}
	got := snk.received()
	if len(got) != 2 || got[0].ID() != "m-7.gun" || got[1].ID() != got[0].ID() {
		t.Fatalf("ids %v", ids(got))
	}
}

func ids(es []event.Event) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID())
	}
	return out
}

func TestWithoutSinkOneClassIsTheReply(t *testing.T) {
	f, _ := startDetect(t, patternConfig(t, nil))
	schema := detectionSchema(t)

	one := patternJPEG(t, 416, 416, square{image.Rect(64, 64, 96, 96), yellow}, square{image.Rect(256, 64, 288, 96), yellow})
	reply, err := f.Handle(context.Background(), motionEvent(t, "m-1", one, nil))
	if err != nil || reply == nil {
		t.Fatalf("Handle = %v, %v; want a reply", reply, err)
	}
	d := validate(t, schema, *reply)
	if reply.ID() != "m-1.accident" || d.Class != "accident" || len(d.Objects) != 2 {
		t.Fatalf("reply %s with %+v", reply.ID(), d)
	}
	if d.Frame != (contract.Frame{Width: 416, Height: 416}) || d.Location != nil {
		t.Fatalf("without region extensions the crop is the frame: %+v", d)
	}

	two := patternJPEG(t, 416, 416, square{image.Rect(64, 64, 96, 96), yellow}, square{image.Rect(256, 64, 288, 96), red})
	reply, err = f.Handle(context.Background(), motionEvent(t, "m-2", two, nil))
	if reply != nil || statusOf(err) != http.StatusInternalServerError || !strings.Contains(err.Error(), "K_SINK") {
		t.Fatalf("two classes without K_SINK: %v, %v", reply, err)
	}
}

func TestNothingFoundIsNoEventAndNoError(t *testing.T) {
	snk := newSink(t, 0)
	f, _ := startDetect(t, patternConfig(t, map[string]string{"K_SINK": snk.URL}))
	// A white square is no colour of the pattern model; a small red one fills too little of its cell.
	img := patternJPEG(t, 416, 416, square{image.Rect(0, 0, 64, 64), [3]uint8{255, 255, 255}}, square{image.Rect(200, 200, 210, 210), red})
	reply, err := f.Handle(context.Background(), motionEvent(t, "m-0", img, nil))
	if reply != nil || err != nil || len(snk.received()) != 0 {
		t.Fatalf("Handle = %v, %v; sink got %d", reply, err, len(snk.received()))
	}
}

func TestUnmappedLabelsAreIgnored(t *testing.T) {
	f, _ := startDetect(t, patternConfig(t, map[string]string{"CLASS_MAP": "fire=knife"}))
	img := patternJPEG(t, 416, 416, square{image.Rect(0, 0, 32, 32), red}, square{image.Rect(64, 0, 96, 32), blue})
	reply, err := f.Handle(context.Background(), motionEvent(t, "m-3", img, nil))
	if err != nil || reply == nil || reply.ID() != "m-3.knife" {
		t.Fatalf("Handle = %v, %v", reply, err)
	}
	d := validate(t, detectionSchema(t), *reply)
	if d.Label != "fire" || d.Class != "knife" || len(d.Objects) != 1 || d.Box.X != 0 {
		t.Fatalf("the red square (label fire) maps to knife; the blue one (label knife) is unmapped: %+v", d)
	}
}

func TestBadInputIs400AndTheProcessKeepsServing(t *testing.T) {
	f, reg := startDetect(t, patternConfig(t, map[string]string{"MAX_IMAGE_BYTES": "200000", "MAX_IMAGE_PIXELS": "1000000"}))
	good := patternJPEG(t, 416, 416, square{image.Rect(0, 0, 32, 32), red})
	corrupt := append([]byte{0xff, 0xd8, 0xff, 0xe0}, bytes.Repeat([]byte{0x42}, 500)...)
	truncated := good[:len(good)/3]
	huge := patternJPEG(t, 1200, 1000)
	big := make([]byte, 200001)
	copy(big, good)
	cases := []struct {
		name, reason string
		event        func() event.Event
	}{
		{"wrong type", reasonWrongType, func() event.Event {
			e := motionEvent(t, "x", good, nil)
			e.SetType("dev.edgewatch.something.else")
			return e
		}},
		{"wrong content type", reasonContentType, func() event.Event {
			e := motionEvent(t, "x", nil, nil)
			_ = e.SetData("image/png", good)
			return e
		}},
		{"empty body", reasonEmpty, func() event.Event { return motionEvent(t, "x", []byte{}, nil) }},
		{"garbage", reasonCorrupt, func() event.Event { return motionEvent(t, "x", []byte("hello, not a jpeg"), nil) }},
		{"corrupt JPEG", reasonCorrupt, func() event.Event { return motionEvent(t, "x", corrupt, nil) }},
		{"truncated JPEG", reasonCorrupt, func() event.Event { return motionEvent(t, "x", truncated, nil) }},
		{"too many bytes", reasonTooLarge, func() event.Event { return motionEvent(t, "x", big, nil) }},
		{"too many pixels", reasonTooLarge, func() event.Event { return motionEvent(t, "x", huge, nil) }},
		{"bad camera", reasonBadExtension, func() event.Event {
			return motionEvent(t, "x", good, map[string]any{contract.ExtCamera: "../etc"})
		}},
		{"bad region", reasonBadExtension, func() event.Event {
			return motionEvent(t, "x", good, map[string]any{contract.ExtRegionX: "left"})
		}},
		{"bad location", reasonBadExtension, func() event.Event {
			return motionEvent(t, "x", good, map[string]any{contract.ExtLat: "91", contract.ExtLon: "0"})
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := counter(t, reg, "edgewatch_detect_errors_total", "reason", c.reason)
			reply, err := f.Handle(context.Background(), c.event())
			if reply != nil || statusOf(err) != http.StatusBadRequest {
				t.Fatalf("Handle = %v, %v; want 400", reply, err)
			}
			if after := counter(t, reg, "edgewatch_detect_errors_total", "reason", c.reason); after != before+1 {
				t.Errorf("errors{reason=%q} went %v → %v", c.reason, before, after)
			}
		})
	}
	if reply, err := f.Handle(context.Background(), motionEvent(t, "after", good, nil)); err != nil || reply == nil || reply.ID() != "after.fire" {
		t.Fatalf("a good event after bad ones: %v, %v", reply, err)
	}
}

func TestSinkFailureIs5xxSoTheBrokerRetries(t *testing.T) {
	snk := newSink(t, http.StatusServiceUnavailable)
	f, reg := startDetect(t, patternConfig(t, map[string]string{"K_SINK": snk.URL, "SEND_RETRIES": "1", "SEND_BACKOFF": "1ms"}))
	img := patternJPEG(t, 416, 416, square{image.Rect(0, 0, 32, 32), red})
	reply, err := f.Handle(context.Background(), motionEvent(t, "m-9", img, nil))
	if reply != nil || statusOf(err) < 500 {
		t.Fatalf("Handle = %v, %v; want a 5xx error", reply, err)
	}
	if n := len(snk.received()); n != 2 {
		t.Errorf("sink saw %d attempts, want 2 (one retry)", n)
	}
	if counter(t, reg, "edgewatch_detect_errors_total", "reason", reasonDelivery) != 1 {
		t.Error("delivery error not counted")
	}
}

func TestRequestsBeforeReadyAre503(t *testing.T) {
	f := NewWithDeps(Deps{Logger: testLogger(t)})
	if ok, _ := f.Ready(context.Background()); ok {
		t.Fatal("ready before Start")
	}
	img := patternJPEG(t, 64, 64)
	reply, err := f.Handle(context.Background(), motionEvent(t, "early", img, nil))
	if reply != nil || statusOf(err) != http.StatusServiceUnavailable {
		t.Fatalf("Handle before Start = %v, %v; want 503", reply, err)
	}
	if err := f.Start(context.Background(), patternConfig(t, nil)); err != nil {
		t.Fatal(err)
	}
	defer f.Stop(context.Background())
	if ok, _ := f.Ready(context.Background()); !ok {
		t.Fatal("not ready after Start")
	}
	if _, err := f.Handle(context.Background(), motionEvent(t, "later", img, nil)); err != nil {
		t.Fatalf("after Start: %v", err)
	}
}

func TestConcurrentRequestsShareOneForwardPass(t *testing.T) {
	const n = 6
	f, reg := startDetect(t, patternConfig(t, map[string]string{"BATCH_WINDOW": "1m", "BATCH_MAX": fmt.Sprint(n)}))
	before := counter(t, reg, "edgewatch_detect_forward_passes_total")
	labels := darknet.IncidentLabels()
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			class := i % 4
			cell := image.Rect(32*i, 32*i, 32*i+32, 32*i+32)
			img := patternJPEG(t, 416, 416, square{cell, darknet.PatternColor(class)})
			reply, err := f.Handle(context.Background(), motionEvent(t, fmt.Sprintf("c-%d", i), img, nil))
			if err != nil || reply == nil {
				t.Errorf("request %d: %v, %v", i, reply, err)
				return
			}
			var d contract.Detection
			_ = reply.DataAs(&d)
			if reply.ID() != fmt.Sprintf("c-%d.%s", i, labels[class]) || d.Box != (contract.Box{X: 32 * i, Y: 32 * i, W: 32, H: 32}) {
				t.Errorf("request %d got %s %+v", i, reply.ID(), d.Box)
			}
		}()
	}
	wg.Wait()
	if got := counter(t, reg, "edgewatch_detect_forward_passes_total") - before; got != 1 {
		t.Fatalf("%d requests took %v forward passes, want 1", n, got)
	}
}

func TestMetricsAreServedOnTheSidePort(t *testing.T) {
	f, _ := startDetect(t, patternConfig(t, nil))
	resp, err := http.Get("http://" + f.MetricsAddress() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`edgewatch_detect_backend_info{backend="cpu",model="pattern"} 1`, "edgewatch_detect_model_load_seconds"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestStartRefusesBadModelsWithoutCrashing(t *testing.T) {
	base := patternConfig(t, nil)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	weights, _ := os.ReadFile(base["MODEL_WEIGHTS"])
	cases := []struct {
		name, key, value, want string
	}{
		{"missing cfg", "MODEL_CFG", dir + "/absent.cfg", "no such file"},
		{"garbled cfg", "MODEL_CFG", write("garbled.cfg", []byte("\x89PNG\r\n\x1a\n\x00\x00garbage")), "NUL"},
		{"cfg of prose", "MODEL_CFG", write("prose.cfg", []byte("this is not a network\n")), "key=value"},
		{"truncated weights", "MODEL_WEIGHTS", write("short.weights", weights[:len(weights)-4]), "truncated"},
		{"missing names", "MODEL_NAMES", dir + "/absent.names", "no such file"},
		{"names of another model", "MODEL_NAMES", write("coco.names", []byte(strings.Join(darknet.COCOLabels(), "\n"))), "80 labels"},
		{"class map maps nothing", "CLASS_MAP", "person=gun", "no model label"},
		{"unknown class", "CLASS_MAP", "fire=smoke", "smoke"},
		{"bad backend", "DNN_BACKEND", "tpu", "tpu"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := map[string]string{}
			for k, v := range base {
				cfg[k] = v
			}
			cfg[c.key] = c.value
			f := NewWithDeps(Deps{Logger: testLogger(t)})
			err := f.Start(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("Start = %v; want an error mentioning %q", err, c.want)
			}
			if ok, _ := f.Ready(context.Background()); ok {
				t.Fatal("ready after a failed Start")
			}
		})
	}
}
