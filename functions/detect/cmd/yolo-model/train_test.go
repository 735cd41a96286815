package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/dataset"
	"github.com/edgewatch/edgewatch/functions/detect/dataset/patternset"
	"github.com/edgewatch/edgewatch/functions/detect/onnx"
	"github.com/edgewatch/edgewatch/functions/detect/yolo"
)

// patternSet writes a labelled pattern set and returns its directory.
func patternSet(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := patternset.Write(dir, patternset.Random(8, 4, 416, 416, 3)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// generatePattern writes the pattern model and returns its files.
func generatePattern(t *testing.T) darknet.Files {
	t.Helper()
	g, err := darknet.Generate(darknet.KindPattern, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return g.Files
}

func runCmd(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), code
}

func TestEvalPrintsTheTableAndWritesJSON(t *testing.T) {
	m, set := generatePattern(t), patternSet(t)
	jsonPath := filepath.Join(t.TempDir(), "report.json")
	out, errOut, code := runCmd(t, "eval", "--cfg", m.Cfg, "--weights", m.Weights, "--names", m.Names, "--backend", "cpu", "--json", jsonPath, set)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "\nmAP@0.5 = 1.0000\n") || !strings.Contains(out, "confusion after the class map") {
		t.Fatalf("stdout %q", out)
	}
	var r struct {
		MAP50   float64 `json:"map50"`
		Images  int     `json:"images"`
		Classes []struct {
			Label string `json:"label"`
		} `json:"classes"`
	}
	data, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &r); err != nil || r.MAP50 != 1 || r.Images != 8 || len(r.Classes) == 0 {
		t.Fatalf("json %s (%v)", data, err)
	}
	// --json - writes only the JSON to stdout; the dataset directory may come first.
	out, _, code = runCmd(t, "eval", set, "--cfg", m.Cfg, "--weights", m.Weights, "--names", m.Names, "--backend", "cpu", "--json", "-")
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil || r.MAP50 != 1 {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
}

func TestEvalAppliesTheClassMap(t *testing.T) {
	m, set := generatePattern(t), patternSet(t)
	// Only fire is an incident class now, and counted as knife: the confusion has knife detections only.
	out, errOut, code := runCmd(t, "eval", "--cfg", m.Cfg, "--weights", m.Weights, "--names", m.Names, "--backend", "cpu", "--class-map", "fire=knife", "--json", "-", set)
	if code != 0 {
		t.Fatal(errOut)
	}
	var r struct {
		Confusion struct {
			Classes []string `json:"classes"`
			Counts  [][]int  `json:"counts"`
		} `json:"confusion"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	fires := 0
	ds, _ := dataset.Read(set, 4)
	for _, it := range ds.Items {
		for _, b := range it.Boxes {
			if b.Class == 1 {
				fires++
			}
		}
	}
	total := 0
	for _, row := range r.Confusion.Counts {
		for _, v := range row {
			total += v
		}
	}
	if fires == 0 || r.Confusion.Counts[3][3] != fires || total != fires {
		t.Fatalf("confusion %v, %d fire objects", r.Confusion.Counts, fires)
	}
}

// TestEvalOnONNXExports evaluates the pattern network exported as ONNX in
// both output layouts at the set's own 416-px size, where letterboxing is the
// identity: both must find every square exactly, as the darknet model does.
func TestEvalOnONNXExports(t *testing.T) {
	set := patternSet(t)
	dir := t.TempDir()
	names := filepath.Join(dir, "pattern.names")
	if err := os.WriteFile(names, []byte(strings.Join(darknet.IncidentLabels(), "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, v8 := range []bool{false, true} {
		path := filepath.Join(dir, fmt.Sprintf("pattern-v8-%t.onnx", v8))
		if err := os.WriteFile(path, onnx.PatternModel(v8, 416), 0o644); err != nil {
			t.Fatal(err)
		}
		out, errOut, code := runCmd(t, "eval", "--onnx", path, "--names", names, "--backend", "cpu", set)
		if code != 0 {
			t.Fatalf("v8=%t: exit %d: %s", v8, code, errOut)
		}
		if !strings.Contains(out, "\nmAP@0.5 = 1.0000\n") {
			t.Errorf("v8=%t: want mAP@0.5 = 1.0000, got:\n%s", v8, out)
		}
	}
}

func TestEvalRefusesBadInput(t *testing.T) {
	m, set := generatePattern(t), patternSet(t)
	bad := t.TempDir()
	if err := patternset.Write(bad, patternset.Random(1, 1, 416, 416, 1)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "labels", "img000.txt"), []byte("0 .5 .5 .1 .1\n7 .5 .5 .1 .1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	onnx := filepath.Join(t.TempDir(), "model.onnx")
	if err := os.WriteFile(onnx, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	model := []string{"--cfg", m.Cfg, "--weights", m.Weights, "--names", m.Names, "--backend", "cpu"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{append(append([]string{"eval"}, model...), bad), "img000.txt:2: class id 7 out of range 0–3"},
		{[]string{"eval", "--cfg", m.Cfg, "--names", m.Names, set}, "required"},
		{append(append([]string{"eval"}, model...), "--class-map", "fire=smoke", set), "smoke"},
		{append(append([]string{"eval"}, model...), "--conf", "0.001", set), "--min-conf"},
		{append([]string{"eval"}, model...), "one dataset directory"},
		{[]string{"eval", "--onnx", onnx, set}, "--onnx needs --names"},
		{[]string{"eval", "--onnx", onnx, "--cfg", m.Cfg, "--names", m.Names, set}, "not both"},
		{[]string{"eval", "--onnx", onnx + ".missing", "--names", m.Names, set}, "no such file"},
		{[]string{"eval", "--onnx", onnx, "--names", m.Names, set}, "not a valid ONNX file"},
	} {
		_, errOut, code := runCmd(t, c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, errOut, c.want)
		}
	}
}

func TestCfgFromADatasetLoadsInOpenCV(t *testing.T) {
	// Six box sizes, each on several images: k-means with six anchors must
	// return exactly these sizes at 320 px, sorted by area.
	set := t.TempDir()
	sizes := [][2]float64{{0.5, 0.25}, {0.025, 0.05}, {0.8, 0.9}, {0.1, 0.1}, {0.15, 0.3}, {0.2, 0.1}}
	for i := 0; i < 12; i++ {
		im := patternset.Image{Name: fmt.Sprintf("b%02d", i), Width: 416, Height: 416}
		if err := patternset.WriteImage(set, im); err != nil {
			t.Fatal(err)
		}
		s := sizes[i%len(sizes)]
		if err := patternset.WriteLabels(set, im.Name, []dataset.Box{{Class: i % 4, CX: 0.5, CY: 0.5, W: s[0], H: s[1]}}); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "incident-tiny.cfg")
	stdout, errOut, code := runCmd(t, "cfg", "--classes", "4", "--size", "320", "--anchors-from", set, "--base", "tiny", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(stdout, "filters=27") || !strings.Contains(stdout, "max_batches=8000, steps=6400,7200") ||
		!strings.Contains(errOut, "anchors from 12 boxes") || !strings.Contains(errOut, "(mean best IoU 1.000)") {
		t.Fatalf("stdout %q stderr %q", stdout, errOut)
	}
	text, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(text), "anchors=8,16,  32,32,  64,32,  48,96,  160,80,  256,288\n") || !strings.Contains(string(text), "classes=4") {
		t.Fatalf("cfg %s", text)
	}
	// Weights for the written cfg, then detect's own check and OpenCV's loader and one forward pass.
	cfg, err := darknet.ParseCfg(bytes.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	net, err := darknet.Analyze(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Dir(out)
	files := darknet.Files{Cfg: out, Weights: filepath.Join(dir, "w.weights"), Names: filepath.Join(dir, "obj.names")}
	var w bytes.Buffer
	zero := func(c darknet.Conv) ([]float32, []float32) {
		return make([]float32, c.Filters), make([]float32, c.KernelLen())
	}
	if err := darknet.WriteWeights(&w, net, zero); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files.Weights, w.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(files.Names, []byte(strings.Join(darknet.IncidentLabels(), "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	checked, err := darknet.Check(files)
	if err != nil {
		t.Fatal(err)
	}
	n, err := yolo.Load(checked, yolo.Options{Confidence: 0.5, NMS: 0.45, Backend: yolo.BackendCPU})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	img := gocv.NewMatWithSize(240, 320, gocv.MatTypeCV8UC3)
	defer img.Close()
	outs, err := n.Forward([]gocv.Mat{img})
	if err != nil {
		t.Fatal(err)
	}
	rows := 0
	for i := range outs {
		rows += outs[i].Size()[0]
		if outs[i].Size()[1] != 9 {
			t.Errorf("output %d has %v values a row, want 4 classes + 5", i, outs[i].Size())
		}
		outs[i].Close()
	}
	if rows != (10*10+20*20)*3 {
		t.Fatalf("%d output rows, want (10² + 20²) × 3 at 320 px", rows)
	}
}

func TestCfgRefusesBadArguments(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.cfg")
	for _, args := range [][]string{
		{"cfg", "--classes", "4", "--size", "416"},
		{"cfg", "--classes", "0", "--out", out},
		{"cfg", "--classes", "4", "--size", "300", "--out", out},
		{"cfg", "--classes", "4", "--base", "nano", "--out", out},
		{"cfg", "--classes", "2", "--anchors-from", patternSet(t), "--out", out}, // class ids 2 and 3 out of range
	} {
		if _, _, code := runCmd(t, args...); code == 0 {
			t.Errorf("%v succeeded", args)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Fatal("a refused cfg was written")
	}
}

func TestDatasetCheckWritesTheLists(t *testing.T) {
	set := patternSet(t)
	names := filepath.Join(t.TempDir(), "incident.names")
	if err := os.WriteFile(names, []byte(strings.Join(darknet.IncidentLabels(), "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCmd(t, "dataset", "check", set, "--names", names, "--valid", "0.25", "--seed", "9")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "8 images (0 without objects), 32 objects") || !strings.Contains(out, "(6 images)") || !strings.Contains(out, "(2 images)") {
		t.Fatalf("stdout %q", out)
	}
	for _, f := range []string{"train.txt", "valid.txt", "obj.names", "obj.data", "data.yaml"} {
		if _, err := os.Stat(filepath.Join(set, f)); err != nil {
			t.Error(err)
		}
	}
	// obj.names is now in the set: it is the default, and a second run gives the same split.
	first, _ := os.ReadFile(filepath.Join(set, "valid.txt"))
	if _, errOut, code := runCmd(t, "dataset", "check", "--valid", "0.25", "--seed", "9", set); code != 0 {
		t.Fatal(errOut)
	}
	second, _ := os.ReadFile(filepath.Join(set, "valid.txt"))
	if !bytes.Equal(first, second) {
		t.Fatalf("same seed, different split: %q vs %q", first, second)
	}
	// A broken label is named with its line, and nothing is written over.
	if err := os.WriteFile(filepath.Join(set, "labels", "img002.txt"), []byte("1 0.5 0.5 0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCmd(t, "dataset", "check", set); code == 0 || !strings.Contains(errOut, "img002.txt:1: want 5 fields") {
		t.Fatalf("exit %d stderr %q", code, errOut)
	}
	for _, args := range [][]string{{"dataset"}, {"dataset", "list", set}, {"dataset", "check"}, {"dataset", "check", t.TempDir()}, {"dataset", "check", set, "--valid", "1"}} {
		if _, _, code := runCmd(t, args...); code == 0 {
			t.Errorf("%v succeeded", args)
		}
	}
}
