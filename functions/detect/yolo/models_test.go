package yolo

import (
	"testing"

	"gocv.io/x/gocv"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
)

// loadGenerated writes a generated model, checks it and loads it.
func loadGenerated(t *testing.T, kind darknet.Kind, opts Options) *Net {
	t.Helper()
	g, err := darknet.Generate(kind, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := darknet.Check(g.Files)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Load(m, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

func forwardShapes(t *testing.T, n *Net, batch int) [][]int {
	t.Helper()
	imgs := make([]gocv.Mat, batch)
	for i := range imgs {
		imgs[i] = gocv.NewMatWithSize(200, 300, gocv.MatTypeCV8UC3)
		defer imgs[i].Close()
	}
	outs, err := n.Forward(imgs)
	if err != nil {
		t.Fatal(err)
	}
	defer closeAll(outs)
	var shapes [][]int
	for _, o := range outs {
		shapes = append(shapes, o.Size())
	}
	if _, err := n.Detect(imgs); err != nil {
		t.Fatal(err)
	}
	return shapes
}

func TestGeneratedTinyLoadsAndRuns(t *testing.T) {
	n := loadGenerated(t, darknet.KindTiny, Options{Confidence: 0.5, NMS: 0.45, Backend: BackendCPU})
	if n.InputSize().X != 416 || len(n.Labels()) != 80 || n.Backend() != BackendCPU {
		t.Fatalf("input %v labels %d backend %s", n.InputSize(), len(n.Labels()), n.Backend())
	}
	// Two [yolo] outputs of 13×13×3 and 26×26×3 rows of 85 values; batched outputs gain a leading batch axis.
	got := forwardShapes(t, n, 1)
	if len(got) != 2 || got[0][0]+got[1][0] != (13*13+26*26)*3 || got[0][1] != 85 {
		t.Fatalf("output shapes %v", got)
	}
	got = forwardShapes(t, n, 2)
	if len(got) != 2 || got[0][0] != 2 || len(got[0]) != 3 {
		t.Fatalf("batch-2 output shapes %v", got)
	}
}

func TestGeneratedFullYOLOv4Loads(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and loads 257 MB of weights")
	}
	// A 128-px input keeps the one forward pass short; the weights are the full 257,717,640 bytes.
	n := loadGenerated(t, darknet.KindFull, Options{InputSize: 128, Confidence: 0.5, NMS: 0.45, Backend: BackendCPU})
	got := forwardShapes(t, n, 1)
	if len(got) != 3 || got[0][0]+got[1][0]+got[2][0] != (4*4+8*8+16*16)*3 {
		t.Fatalf("output shapes %v", got)
	}
}

func TestCUDAFallsBackToCPUWithoutIt(t *testing.T) {
	if CUDAUsable() {
		t.Skip("this OpenCV has CUDA")
	}
	n := loadGenerated(t, darknet.KindPattern, Options{Confidence: 0.5, NMS: 0.45, Backend: BackendCUDA})
	if n.Backend() != BackendCPU || n.BackendNote() == "" {
		t.Fatalf("backend %s note %q", n.Backend(), n.BackendNote())
	}
	if b, _ := resolve(BackendAuto, true); b != BackendCUDA {
		t.Fatal("auto with CUDA available must pick CUDA")
	}
	if b, _ := resolve(BackendCPU, true); b != BackendCPU {
		t.Fatal("cpu must stay cpu")
	}
}

func TestLoadRefusesBadOptions(t *testing.T) {
	g, _ := darknet.Generate(darknet.KindPattern, t.TempDir())
	m, err := darknet.Check(g.Files)
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []Options{{InputSize: 100}, {Confidence: 2}, {NMS: -1}} {
		if n, err := Load(m, o); err == nil {
			n.Close()
			t.Errorf("Load accepted %+v", o)
		}
	}
	if _, err := Load(nil, Options{}); err == nil {
		t.Error("Load accepted no model")
	}
}
