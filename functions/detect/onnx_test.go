package function

import (
	"context"
	"image"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/internal/contract"
	"github.com/edgewatch/edgewatch/functions/detect/onnx"
)

// onnxConfig generates an ONNX pattern model in a temp dir and returns a
// cfg map that loads it, plus overrides.
func onnxConfig(t testing.TB, kind onnx.Kind, overrides map[string]string) map[string]string {
	t.Helper()
	g, err := onnx.Generate(kind, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg := map[string]string{"MODEL_ONNX": g.Model, "MODEL_NAMES": g.Names, "DNN_BACKEND": "cpu", "METRICS_ADDRESS": "127.0.0.1:0"}
	for k, v := range overrides {
		cfg[k] = v
	}
	return cfg
}

// TestONNXModelsYieldDetectionEventsAtTheSink runs both output layouts of
// the ONNX pattern model through Handle. The 1280×640 crop is letterboxed
// into 640×640 at half scale below 160 px of grey, so each 64-px square is
// one 32-px network cell; the crop stands at (600, 300) of the frame.
func TestONNXModelsYieldDetectionEventsAtTheSink(t *testing.T) {
	for _, kind := range []onnx.Kind{onnx.KindPatternV5, onnx.KindPatternV8} {
		t.Run(string(kind), func(t *testing.T) {
			snk := newSink(t, 0)
			f, _ := startDetect(t, onnxConfig(t, kind, map[string]string{"K_SINK": snk.URL}))
			img := patternJPEG(t, 1280, 640,
				square{image.Rect(128, 64, 192, 128), red},
				square{image.Rect(1024, 448, 1088, 512), green})
			ext := map[string]any{contract.ExtRegionX: 600, contract.ExtRegionY: 300, contract.ExtRegionW: 1280, contract.ExtRegionH: 640, contract.ExtFrameWidth: 1920, contract.ExtFrameHeight: 1080}
			if reply, err := f.Handle(context.Background(), motionEvent(t, "m-onnx", img, ext)); err != nil || reply != nil {
				t.Fatalf("Handle = %v, %v", reply, err)
			}
			got := snk.received()
			if len(got) != 2 {
				t.Fatalf("sink received %d events, want 2", len(got))
			}
			want := map[string]contract.Box{"fire": {X: 728, Y: 364, W: 64, H: 64}, "gun": {X: 1624, Y: 748, W: 64, H: 64}}
			model := "pattern-" + strings.TrimPrefix(string(kind), "pattern-onnx-")
			for _, e := range got {
				d := validate(t, detectionSchema(t), e)
				if d.Box != want[d.Class] || d.Label != d.Class || d.Model != model {
					t.Errorf("%s: box %+v label %s model %s, want box %+v model %s", d.Class, d.Box, d.Label, d.Model, want[d.Class], model)
				}
				if c := darknet.PatternConfidence(1); math.Abs(d.Confidence-c) > 0.03 {
					t.Errorf("%s: confidence %.4f, want %.4f ± 0.03", d.Class, d.Confidence, c)
				}
			}
		})
	}
}

// TestClassMapAppliesToONNXModelsAsToDarknet maps label fire to class knife
// and leaves label knife unmapped, as TestUnmappedLabelsAreIgnored does for
// the darknet model.
func TestClassMapAppliesToONNXModelsAsToDarknet(t *testing.T) {
	f, _ := startDetect(t, onnxConfig(t, onnx.KindPatternV8, map[string]string{"CLASS_MAP": "fire=knife"}))
	img := patternJPEG(t, 640, 640, square{image.Rect(0, 0, 32, 32), red}, square{image.Rect(64, 0, 96, 32), blue})
	reply, err := f.Handle(context.Background(), motionEvent(t, "m-map", img, nil))
	if err != nil || reply == nil || reply.ID() != "m-map.knife" {
		t.Fatalf("Handle = %v, %v", reply, err)
	}
	d := validate(t, detectionSchema(t), *reply)
	if d.Label != "fire" || d.Class != "knife" || len(d.Objects) != 1 || d.Box.X != 0 {
		t.Fatalf("the red square (label fire) maps to knife; the blue one (label knife) is unmapped: %+v", d)
	}
}

func TestStartRefusesBadONNXModelsWithoutCrashing(t *testing.T) {
	base := onnxConfig(t, onnx.KindPatternV5, nil)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	model, _ := os.ReadFile(base["MODEL_ONNX"])
	cases := []struct {
		name string
		set  map[string]string
		want string
	}{
		{"missing model", map[string]string{"MODEL_ONNX": dir + "/absent.onnx"}, "no such file"},
		{"truncated model", map[string]string{"MODEL_ONNX": write("short.onnx", model[:len(model)-100])}, "not a valid ONNX file"},
		{"not ONNX", map[string]string{"MODEL_ONNX": write("prose.onnx", []byte("this is not a network\n"))}, "not a valid ONNX file"},
		{"names of another model", map[string]string{"MODEL_NAMES": write("coco.names", []byte(strings.Join(darknet.COCOLabels(), "\n")))}, "disagree with the names the export"},
		{"no names", map[string]string{"MODEL_NAMES": ""}, "MODEL_ONNX needs MODEL_NAMES"},
		{"mixed with darknet", map[string]string{"MODEL_CFG": "m.cfg"}, "cannot be combined"},
		{"input size of a fixed input", map[string]string{"INPUT_SIZE": "416"}, "fixed at 640x640"},
		{"class map maps nothing", map[string]string{"CLASS_MAP": "person=gun"}, "no model label"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := map[string]string{}
			for k, v := range base {
				cfg[k] = v
			}
			for k, v := range c.set {
				cfg[k] = v
			}
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
