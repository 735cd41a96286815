package yolo

import (
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/onnx"
)

// onnxPattern generates an ONNX pattern model of a kind and loads it.
func onnxPattern(t testing.TB, kind onnx.Kind) *ONNXNet {
	t.Helper()
	g, err := onnx.Generate(kind, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	n, err := LoadONNX(g.Model, g.Names, Options{Confidence: 0.5, NMS: 0.45, Backend: BackendCPU})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// onnxKinds maps each generated ONNX pattern model to its output layout.
func onnxKinds() map[onnx.Kind]Layout {
	return map[onnx.Kind]Layout{onnx.KindPatternV5: LayoutV5, onnx.KindPatternV8: LayoutV8}
}

func TestONNXPatternModelsLoadInBothLayouts(t *testing.T) {
	for kind, layout := range onnxKinds() {
		n := onnxPattern(t, kind)
		if n.Layout() != layout || n.InputSize() != image.Pt(640, 640) || strings.Join(n.Labels(), ",") != "accident,fire,gun,knife" ||
			n.Backend() != BackendCPU || n.Producer() != onnx.PatternProducer {
			t.Errorf("%s: layout %s input %v labels %v backend %s producer %q", kind, n.Layout(), n.InputSize(), n.Labels(), n.Backend(), n.Producer())
		}
		if err := n.Warmup(); err != nil {
			t.Errorf("%s: warm-up: %v", kind, err)
		}
	}
}

func TestFitLetterboxAsUltralytics(t *testing.T) {
	cases := []struct {
		img, input   image.Point
		scale        float64
		resized, pad image.Point
	}{
		{image.Pt(640, 640), image.Pt(640, 640), 1, image.Pt(640, 640), image.Pt(0, 0)},
		{image.Pt(1280, 640), image.Pt(640, 640), 0.5, image.Pt(640, 320), image.Pt(0, 160)},
		{image.Pt(1920, 1080), image.Pt(640, 640), 1.0 / 3, image.Pt(640, 360), image.Pt(0, 140)},
		// 320·4/3 = 426.67 → 427; (640−427)/2 = 106.5 → 106 left, 107 right.
		{image.Pt(320, 480), image.Pt(640, 640), 4.0 / 3, image.Pt(427, 640), image.Pt(106, 0)},
		// One pixel of padding goes to the bottom.
		{image.Pt(640, 639), image.Pt(640, 640), 1, image.Pt(640, 639), image.Pt(0, 0)},
		// A non-square input: min(416/100, 320/50) = 4.16.
		{image.Pt(100, 50), image.Pt(416, 320), 4.16, image.Pt(416, 208), image.Pt(0, 56)},
		{image.Pt(50, 100), image.Pt(416, 320), 3.2, image.Pt(160, 320), image.Pt(128, 0)},
	}
	for _, c := range cases {
		lb := FitLetterbox(c.img, c.input)
		if math.Abs(lb.Scale-c.scale) > 1e-9 || lb.Resized != c.resized || lb.Pad != c.pad {
			t.Errorf("%v into %v: %+v, want scale %.4f resized %v pad %v", c.img, c.input, lb, c.scale, c.resized, c.pad)
		}
	}
}

// TestONNXLetterboxMapsBoxesBackToTheImage draws a square in each image
// where a network cell lands after letterboxing and expects the cell back
// in image pixels: exact where the scale maps pixels onto pixels, within
// two pixels where it does not.
func TestONNXLetterboxMapsBoxesBackToTheImage(t *testing.T) {
	cases := []struct {
		name  string
		size  image.Point
		box   image.Rectangle // the square drawn, and the box wanted
		class int
		slack int
	}{
		// Network cell (3,1) = (96,32)-(128,64); no letterbox.
		{"square image at network size", image.Pt(640, 640), image.Rect(96, 32, 128, 64), 1, 0},
		// Scale 1/2, 160 px of grey above: cell (2,6) = (64,192)-(96,224) is image (128,64)-(192,128).
		{"wide image", image.Pt(1280, 640), image.Rect(128, 64, 192, 128), 0, 0},
		// Scale 1/3, 140 px above: cell (10,8) = (320,256)-(352,288) is image (960,348)-(1056,444).
		{"1080p frame", image.Pt(1920, 1080), image.Rect(960, 348, 1056, 444), 3, 0},
		// Scale 4/3, 106 px left: cell (8,5) = (256,160)-(288,192) is image (112.5,120)-(136.5,144).
		{"tall image, fractional scale", image.Pt(320, 480), image.Rect(113, 120, 137, 144), 2, 2},
	}
	for kind := range onnxKinds() {
		n := onnxPattern(t, kind)
		for _, c := range cases {
			t.Run(string(kind)+"/"+c.name, func(t *testing.T) {
				img := square(c.size.X, c.size.Y, c.box, darknet.PatternColor(c.class))
				defer img.Close()
				got, err := n.Detect([]gocv.Mat{img})
				if err != nil {
					t.Fatal(err)
				}
				if len(got) != 1 || len(got[0]) != 1 {
					t.Fatalf("want one detection, got %+v", got)
				}
				d := got[0][0]
				if d.Class != c.class || d.Label != darknet.IncidentLabels()[c.class] || !near(d.Box, c.box, c.slack) {
					t.Fatalf("got %+v, want class %d box %v ±%d", d, c.class, c.box, c.slack)
				}
				if c.slack == 0 && math.Abs(float64(d.Confidence)-darknet.PatternConfidence(1)) > 0.01 {
					t.Fatalf("confidence %.3f, want %.3f", d.Confidence, darknet.PatternConfidence(1))
				}
			})
		}
	}
}

func near(a, b image.Rectangle, slack int) bool {
	d := func(x, y int) bool { return x-y <= slack && y-x <= slack }
	return d(a.Min.X, b.Min.X) && d(a.Min.Y, b.Min.Y) && d(a.Max.X, b.Max.X) && d(a.Max.Y, b.Max.Y)
}

func TestONNXBatchOfMixedSizesGivesEachItsOwnDetections(t *testing.T) {
	n := onnxPattern(t, onnx.KindPatternV8)
	imgs := []gocv.Mat{
		square(1280, 640, image.Rect(128, 64, 192, 128), darknet.PatternColor(0)),
		gocv.NewMatWithSize(300, 200, gocv.MatTypeCV8UC3),
		square(640, 640, image.Rect(320, 320, 352, 352), darknet.PatternColor(3)),
	}
	defer closeAll(imgs)
	got, err := n.Detect(imgs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || len(got[0]) != 1 || got[0][0].Class != 0 || got[0][0].Box != image.Rect(128, 64, 192, 128) ||
		len(got[1]) != 0 || len(got[2]) != 1 || got[2][0].Class != 3 || got[2][0].Box != image.Rect(320, 320, 352, 352) {
		t.Fatalf("got %+v", got)
	}
}

func TestLayoutOf(t *testing.T) {
	cases := []struct {
		dims    []int
		classes int
		layout  Layout
		rows    int
		err     string
	}{
		{[]int{1, 25200, 85}, 80, LayoutV5, 25200, ""},
		{[]int{1, 84, 8400}, 80, LayoutV8, 8400, ""},
		{[]int{1, 8, 8400}, 4, LayoutV8, 8400, ""},
		{[]int{25200, 9}, 4, LayoutV5, 25200, ""},
		{[]int{1, 84, 8400}, 4, "", 0, "looks like a YOLOv8/YOLO11 export of 80 classes"},
		{[]int{1, 25200, 85}, 4, "", 0, "looks like a YOLOv5 export of 80 classes"},
		{[]int{1, 84, 85}, 80, "", 0, "cannot tell the layout"},
		{[]int{1, 3, 640, 640}, 80, "", 0, "want [1, N, 5+classes]"},
	}
	for _, c := range cases {
		layout, rows, err := LayoutOf(c.dims, c.classes)
		if layout != c.layout || rows != c.rows || (err == nil) != (c.err == "") || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("LayoutOf(%v, %d) = %s, %d, %v; want %s, %d, %q", c.dims, c.classes, layout, rows, err, c.layout, c.rows, c.err)
		}
	}
}

// writeGraph writes an ONNX model with a 1×3×32×32 input "x" built by build
// and output "y" of the given dims.
func writeGraph(t *testing.T, opset int64, build func(g *onnx.GraphWriter), dims ...int64) string {
	t.Helper()
	g := onnx.NewGraph("test")
	g.Input("x", 1, 3, 32, 32)
	build(g)
	g.Output("y", dims...)
	path := filepath.Join(t.TempDir(), "m.onnx")
	if err := os.WriteFile(path, g.Encode(opset, "edgewatch test"), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestLoadONNXRefusesBadFilesWithAClearError feeds LoadONNX what users get
// wrong. Each must come back as an error naming the problem; none may end
// the process (OpenCV's importer would, given most of these files).
func TestLoadONNXRefusesBadFilesWithAClearError(t *testing.T) {
	g, err := onnx.Generate(onnx.KindPatternV5, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(g.Model)
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	darknetModel, err := darknet.Generate(darknet.KindPattern, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	weights, _ := os.ReadFile(darknetModel.Files.Weights)
	flat := func(g *onnx.GraphWriter) {
		g.Floats("w", []int64{4, 3, 1, 1}, fill(12, 0.1))
		g.Node("Conv", []string{"x", "w"}, []string{"c"}, onnx.Ints("kernel_shape", 1, 1))
		g.Ints("s", 1, 4, 1024)
		g.Node("Reshape", []string{"c", "s"}, []string{"t"})
	}
	cases := []struct {
		name, model, names string
		opts               Options
		want               string
	}{
		{"missing model", filepath.Join(dir, "absent.onnx"), g.Names, Options{}, "no such file"},
		{"missing names", g.Model, filepath.Join(dir, "absent.names"), Options{}, "model names"},
		{"empty file", write("empty.onnx", nil), g.Names, Options{}, "not that of an ONNX model"},
		{"truncated", write("half.onnx", good[:len(good)/2]), g.Names, Options{}, "not a valid ONNX file"},
		{"truncated by one byte", write("short.onnx", good[:len(good)-1]), g.Names, Options{}, "not a valid ONNX file"},
		{"darknet weights", write("weights.onnx", weights), g.Names, Options{}, "not a valid ONNX file"},
		{"text", write("text.onnx", []byte("this is not a model\n")), g.Names, Options{}, "not a valid ONNX file"},
		{"JPEG", write("jpeg.onnx", []byte{0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F', 0}), g.Names, Options{}, "not a valid ONNX file"},
		{"names of another model", g.Model, write("three.names", []byte("a\nb\nc\n")), Options{}, "disagree with the names the export"},
		{"COCO names on a 4-class model", g.Model, write("coco.names", []byte(strings.Join(darknet.COCOLabels(), "\n"))), Options{}, "disagree with the names the export"},
		{"COCO names on a 4-class model without names metadata", writeGraph(t, 12, func(g *onnx.GraphWriter) {
			g.Floats("w", []int64{8, 3, 1, 1}, fill(24, 0.1))
			g.Node("Conv", []string{"x", "w"}, []string{"c"}, onnx.Ints("kernel_shape", 1, 1))
			g.Ints("s", 1, 8, 1024)
			g.Node("Reshape", []string{"c", "s"}, []string{"y"})
		}, 1, 8, 1024), write("coco.names", []byte(strings.Join(darknet.COCOLabels(), "\n"))), Options{}, "looks like a YOLOv8/YOLO11 export of 4 classes"},
		{"names in another order than the export's", g.Model, write("swapped.names", []byte("fire\naccident\ngun\nknife\n")), Options{}, "disagree with the names the export"},
		{"input size of a fixed input", g.Model, g.Names, Options{InputSize: 320}, "fixed at 640x640"},
		{"operator OpenCV 4.6 cannot import", writeGraph(t, 17, func(g *onnx.GraphWriter) {
			flat(g)
			g.Floats("k", []int64{1, 1024}, fill(1024, 2))
			g.Node("Mul", []string{"t", "k"}, []string{"y"})
		}, 1, 4, 1024), write("n.names", []byte("a\n")), Options{}, "cannot run it (opset 17, ops Conv Mul Reshape)"},
		{"unknown operator", writeGraph(t, 12, func(g *onnx.GraphWriter) {
			g.Node("NoSuchOp", []string{"x"}, []string{"y"})
		}, 1, 3, 32, 32), write("n.names", []byte("a\n")), Options{}, "cannot run it (opset 12, ops NoSuchOp)"},
		{"weights of the wrong shape for their Conv", writeGraph(t, 12, func(g *onnx.GraphWriter) {
			g.Floats("w", []int64{4, 5, 3, 3}, fill(180, 0.1))
			g.Node("Conv", []string{"x", "w"}, []string{"y"}, onnx.Ints("kernel_shape", 3, 3))
		}, 1, 4, 30, 30), write("n.names", []byte("a\n")), Options{}, "cannot run it"},
		{"operator OpenCV 4.6 imports wrongly", writeGraph(t, 13, func(g *onnx.GraphWriter) {
			flat(g)
			g.Ints("sp", 1, 3)
			g.Node("Split", []string{"t", "sp"}, []string{"a", "y"}, onnx.Int("axis", 1))
		}, 1, 3, 1024), write("n.names", []byte("a\n")), Options{}, "imported wrongly"},
		{"not an image input", writeGraph(t, 12, func(g *onnx.GraphWriter) {
			g.Input("x2", 1, 3, 32, 32)
			g.Node("Add", []string{"x", "x2"}, []string{"y"})
		}, 1, 3, 32, 32), g.Names, Options{}, "2 inputs, want one image input"},
		{"bad threshold", g.Model, g.Names, Options{Confidence: 2}, "must lie in 0–1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, err := LoadONNX(c.model, c.names, c.opts)
			if err == nil {
				n.Close()
				t.Fatal("loaded")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not say %q", err, c.want)
			}
		})
	}
}
