package yolo

import (
	"image"
	"math"
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

func TestONNXPatternModelsLoadInBothLayouts(t *testing.T) {
	for kind, layout := range map[onnx.Kind]Layout{onnx.KindPatternV5: LayoutV5, onnx.KindPatternV8: LayoutV8} {
		n := onnxPattern(t, kind)
		if n.Layout() != layout || n.InputSize() != image.Pt(640, 640) || len(n.Labels()) != 4 {
			t.Errorf("%s: layout %s input %v labels %v", kind, n.Layout(), n.InputSize(), n.Labels())
		}
		img := square(640, 640, image.Rect(96, 32, 128, 64), darknet.PatternColor(1))
		got, err := n.Detect([]gocv.Mat{img})
		img.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %+v", kind, got)
		if len(got[0]) != 1 || got[0][0].Box != image.Rect(96, 32, 128, 64) || math.Abs(float64(got[0][0].Confidence)-darknet.PatternConfidence(1)) > 0.01 {
			t.Errorf("%s: %+v", kind, got)
		}
	}
}
