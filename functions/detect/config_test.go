package function

import (
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/detect/yolo"
)

func TestParseConfigDefaults(t *testing.T) {
	c, err := ParseConfig(map[string]string{"MODEL_CFG": "m.cfg", "MODEL_WEIGHTS": "/x/yolov4.weights", "MODEL_NAMES": "m.names"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ModelName != "yolov4" || c.Confidence != 0.5 || c.NMS != 0.45 || c.Backend != yolo.BackendAuto ||
		c.BatchWindow != 5*time.Millisecond || c.BatchMax != 0 || c.MaxImageBytes != 8<<20 || c.MetricsAddress != ":9464" ||
		c.ClassMap != nil || c.Sink != "" || c.InputSize != 0 {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestParseConfigRefusesBadValues(t *testing.T) {
	base := map[string]string{"MODEL_CFG": "m.cfg", "MODEL_WEIGHTS": "m.weights", "MODEL_NAMES": "m.names"}
	for key, value := range map[string]string{
		"CONF_THRESHOLD": "1.5", "NMS_THRESHOLD": "x", "BATCH_MAX": "0", "BATCH_WINDOW": "soon", "INPUT_SIZE": "400",
		"DNN_BACKEND": "opencl", "CLASS_MAP": "knife", "K_SINK": "broker:8080", "MAX_IMAGE_BYTES": "-1", "MODEL_CFG": "",
	} {
		cfg := map[string]string{}
		for k, v := range base {
			cfg[k] = v
		}
		cfg[key] = value
		if _, err := ParseConfig(cfg); err == nil || (value != "" && !strings.Contains(err.Error(), key)) {
			t.Errorf("%s=%q: %v", key, value, err)
		}
	}
}

func TestParseConfigChoosesOneModelFormat(t *testing.T) {
	c, err := ParseConfig(map[string]string{"MODEL_ONNX": "/m/best.onnx", "MODEL_NAMES": "m.names"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ONNX != "/m/best.onnx" || c.Model.Names != "m.names" || c.ModelName != "best" {
		t.Fatalf("ONNX config: %+v", c)
	}
	for _, bad := range []struct {
		cfg  map[string]string
		want string
	}{
		{map[string]string{"MODEL_ONNX": "m.onnx", "MODEL_CFG": "m.cfg", "MODEL_NAMES": "m.names"}, "cannot be combined"},
		{map[string]string{"MODEL_ONNX": "m.onnx", "MODEL_WEIGHTS": "m.weights", "MODEL_NAMES": "m.names"}, "cannot be combined"},
		{map[string]string{"MODEL_ONNX": "m.onnx"}, "MODEL_ONNX needs MODEL_NAMES"},
		{map[string]string{"MODEL_NAMES": "m.names"}, "or MODEL_ONNX and MODEL_NAMES"},
		{map[string]string{}, "MODEL_CFG, MODEL_WEIGHTS and MODEL_NAMES are required"},
	} {
		if _, err := ParseConfig(bad.cfg); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%v: %v, want an error saying %q", bad.cfg, err, bad.want)
		}
	}
}

func TestClassMap(t *testing.T) {
	m, err := ParseClassMap(" knife = knife, scissors=knife ,fire=fire, cell phone=gun,")
	if err != nil {
		t.Fatal(err)
	}
	got := classesFor(m, []string{"person", "knife", "scissors", "cell phone", "fire"})
	want := []string{"", "knife", "knife", "gun", "fire"}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("got %q, want %q", got, want)
	}
	identity := classesFor(nil, []string{"accident", "fire", "gun", "knife", "person"})
	if strings.Join(identity, ",") != "accident,fire,gun,knife," {
		t.Fatalf("default map: %q", identity)
	}
}

func TestBatchForBackend(t *testing.T) {
	var auto Config
	if auto.BatchFor(yolo.BackendCPU) != 1 || auto.BatchFor(yolo.BackendCUDA) != DefaultGPUBatch {
		t.Fatalf("by backend: cpu %d, cuda %d", auto.BatchFor(yolo.BackendCPU), auto.BatchFor(yolo.BackendCUDA))
	}
	set := Config{BatchMax: 4}
	if set.BatchFor(yolo.BackendCPU) != 4 || set.BatchFor(yolo.BackendCUDA) != 4 {
		t.Fatal("an explicit BATCH_MAX is not used")
	}
}

func TestParseConfigReportsEveryBadKey(t *testing.T) {
	_, err := ParseConfig(map[string]string{"MODEL_ONNX": "m.onnx", "CONF_THRESHOLD": "high", "BATCH_MAX": "999",
		"K_SINK": "broker:8080"})
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, want := range []string{`CONF_THRESHOLD="high"`, `BATCH_MAX="999"`, `K_SINK="broker:8080"`, "MODEL_ONNX needs MODEL_NAMES"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not report %s", err, want)
		}
	}
}
