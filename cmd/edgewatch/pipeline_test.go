package main

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/onnx"
	"github.com/edgewatch/edgewatch/internal/functions"
)

func TestPrepareModelFallsBackToTheAnnouncedDemoModel(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	for _, k := range []string{"MODEL_CFG", "MODEL_WEIGHTS", "MODEL_NAMES", "MODEL_ONNX", "DEMO_MODEL"} {
		t.Setenv(k, "")
	}
	state := t.TempDir()
	env, note, err := prepareModel(state)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(note, "DEMO MODEL") || !strings.Contains(note, "not a trained detector") {
		t.Fatalf("the demo model is not announced as such: %q", note)
	}
	want := "MODEL_WEIGHTS=" + filepath.Join(state, "pattern-model", "pattern.weights")
	if !contains(env, want) {
		t.Fatalf("env %v lacks %s", env, want)
	}
	if _, err := darknet.Check(darknet.Files{Cfg: value(env, "MODEL_CFG"), Weights: value(env, "MODEL_WEIGHTS"), Names: value(env, "MODEL_NAMES")}); err != nil {
		t.Fatalf("generated model does not pass detect's checks: %v", err)
	}
}

func TestPrepareModelPrefersFetchedOfficialFiles(t *testing.T) {
	cache := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", cache)
	for _, k := range []string{"MODEL_CFG", "MODEL_WEIGHTS", "MODEL_NAMES", "MODEL_ONNX", "DEMO_MODEL"} {
		t.Setenv(k, "")
	}
	dir := filepath.Join(cache, "edgewatch", "models", "tiny")
	g, err := darknet.Generate(darknet.KindTiny, dir)
	if err != nil {
		t.Fatal(err)
	}
	// hack/fetch-model.sh names the labels file coco.names.
	if err := os.Rename(g.Files.Names, filepath.Join(dir, "coco.names")); err != nil {
		t.Fatal(err)
	}
	env, note, err := prepareModel(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if value(env, "MODEL_WEIGHTS") != g.Files.Weights || !strings.Contains(note, "COCO yolov4-tiny") || value(env, "CLASS_MAP") == "" {
		t.Fatalf("env %v, note %q: the fetched model was not chosen", env, note)
	}

	// A truncated download is not used.
	if err := os.Truncate(g.Files.Weights, 1000); err != nil {
		t.Fatal(err)
	}
	if _, note, err := prepareModel(t.TempDir()); err != nil || !strings.HasPrefix(note, "DEMO MODEL") {
		t.Fatalf("truncated weights chosen: %q %v", note, err)
	}
}

func TestPrepareModelWritesTheONNXDemoModelWhenAskedTo(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	for _, k := range []string{"MODEL_CFG", "MODEL_WEIGHTS", "MODEL_NAMES", "MODEL_ONNX"} {
		t.Setenv(k, "")
	}
	for _, kind := range []string{"pattern-onnx-v5", "pattern-onnx-v8"} {
		t.Setenv("DEMO_MODEL", kind)
		state := t.TempDir()
		env, note, err := prepareModel(state)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(note, "DEMO MODEL") || !strings.Contains(note, kind) || value(env, "MODEL_CFG") != "" {
			t.Fatalf("%s: env %v note %q", kind, env, note)
		}
		want := filepath.Join(state, "pattern-model", strings.Replace(kind, "-onnx", "", 1)+".onnx")
		if value(env, "MODEL_ONNX") != want {
			t.Fatalf("%s: MODEL_ONNX=%q, want %q", kind, value(env, "MODEL_ONNX"), want)
		}
		if _, err := onnx.Read(want); err != nil {
			t.Fatalf("%s: the generated model fails detect's structure check: %v", kind, err)
		}
	}
	t.Setenv("DEMO_MODEL", "pattern-onnx-v9")
	if _, _, err := prepareModel(t.TempDir()); err == nil || !strings.Contains(err.Error(), "DEMO_MODEL") {
		t.Fatalf("an unknown DEMO_MODEL: %v", err)
	}
	// A configured ONNX model is left to detect, which reads it from the environment.
	t.Setenv("MODEL_ONNX", "/models/best.onnx")
	t.Setenv("MODEL_NAMES", "/models/best.names")
	if env, note, err := prepareModel(t.TempDir()); err != nil || env != nil || !strings.Contains(note, "/models/best.onnx") {
		t.Fatalf("configured ONNX model: env %v note %q err %v", env, note, err)
	}
}

func TestPlanGivesEveryFunctionItsOwnPorts(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("CAMERAS", `[{"id":"c","url":"/dev/null"}]`)
	t.Setenv("VLM_URL", "http://127.0.0.1:1")
	t.Setenv("NOTIFY_WEBHOOK_URL", "http://127.0.0.1:1/")
	o, err := parseUp([]string{"-first-port", "18081", "-metrics-port", "19400", "-scale-to-zero-after", "1m"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := planPipeline(t.Context(), nil, o, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	seen := map[int]string{}
	for _, s := range p.services {
		for _, port := range []int{s.port, s.metricsPort} {
			if other, ok := seen[port]; ok {
				t.Fatalf("%s and %s share port %d", s.name, other, port)
			}
			seen[port] = s.name
		}
		if s.name == "detect" && !s.activated {
			t.Fatal("detect does not scale to zero")
		}
	}
	if want := len(functions.All()); len(p.services) != want {
		t.Fatalf("%d services planned, want %d", len(p.services), want)
	}
	// Every port the plan uses is one the run checks is free first.
	checked := upPorts(o)
	for _, s := range p.services {
		f, ok := functions.ByName(s.name)
		if !ok || s.port != o.firstPort+f.Port || s.metricsPort != o.metricsPort+f.Metrics {
			t.Errorf("%s: ports %d and %d, not the function table's (%+v)", s.name, s.port, s.metricsPort, f)
		}
		_, process, _ := strings.Cut(s.processAddr("127.0.0.1"), ":")
		for _, port := range []string{strconv.Itoa(s.port), strconv.Itoa(s.metricsPort), process} {
			if !slices.Contains(checked, mustAtoi(t, port)) {
				t.Errorf("%s: port %s is not among those checked before the start (%v)", s.name, port, checked)
			}
		}
	}
	urls := p.serviceURLs("127.0.0.1")
	for _, name := range []string{"detect", "alert", "caption"} {
		if urls[name] == "" {
			t.Fatalf("Trigger subscriber %s has no local address", name)
		}
	}
}

func contains(env []string, kv string) bool {
	for _, e := range env {
		if e == kv {
			return true
		}
	}
	return false
}

func value(env []string, key string) string {
	for _, e := range env {
		if k, v, ok := strings.Cut(e, "="); ok && k == key {
			return v
		}
	}
	return ""
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
