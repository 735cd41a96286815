package yolo

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"gocv.io/x/gocv"

	"github.com/edgewatch/edgewatch/functions/detect/onnx"
)

// What OpenCV does with a graph.
const (
	runs  = "runs"         // imports and computes the declared output shape
	wrong = "wrong shape"  // imports and runs, but computes another shape
	fails = "import error" // throws (caught by ProbeONNX)
)

// opCase is a small graph over a 1×3×32×32 input "x" ending in output "y".
type opCase struct {
	name  string
	opset int64
	build func(g *onnx.GraphWriter)
	// dims is the output shape ONNX defines, declared in the graph (nil:
	// no shape declared).
	dims []int
	// want is what OpenCV 4.6 does with it (docs/models.md).
	want string
}

func fill(n int, v float32) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// conv adds a 1×1 convolution from 3 channels to out channels.
func conv(g *onnx.GraphWriter, in, out string, channels int) {
	g.Floats(out+".w", []int64{int64(channels), 3, 1, 1}, fill(channels*3, 0.1))
	g.Floats(out+".b", []int64{int64(channels)}, fill(channels, 0))
	g.Node("Conv", []string{in, out + ".w", out + ".b"}, []string{out}, onnx.Ints("kernel_shape", 1, 1))
}

// silu adds x·σ(x), the activation of YOLOv5 (v6+), YOLOv8 and YOLO11 as
// PyTorch exports it.
func silu(g *onnx.GraphWriter, in, out string) {
	g.Node("Sigmoid", []string{in}, []string{out + ".sig"})
	g.Node("Mul", []string{in, out + ".sig"}, []string{out})
}

// v8Head adds a YOLOv8/YOLO11 detection head over one 32×32 grid: DFL
// (Reshape, Transpose, Softmax, Conv), dist2bbox (Slice or Split, Sub, Add,
// Div, Concat), Mul by strides, class Sigmoid and the final Concat to
// [1, 4+2, 1024]. Strides multiply as exporters write them, a [1, N]
// constant broadcast over the 4 box rows, or expanded to [1, 4, N].
func v8Head(opset int64, expanded bool) func(g *onnx.GraphWriter) {
	return func(g *onnx.GraphWriter) {
		conv(g, "x", "box", 64)
		silu(g, "box", "box.act")
		conv(g, "x", "cls", 2)
		g.Ints("box.shape", 1, 64, 1024)
		g.Node("Reshape", []string{"box.act", "box.shape"}, []string{"box.flat"})
		g.Ints("dfl.shape", 1, 4, 16, 1024)
		g.Node("Reshape", []string{"box.flat", "dfl.shape"}, []string{"dfl.r"})
		g.Node("Transpose", []string{"dfl.r"}, []string{"dfl.t"}, onnx.Ints("perm", 0, 2, 1, 3))
		g.Node("Softmax", []string{"dfl.t"}, []string{"dfl.s"}, onnx.Int("axis", 1))
		proj := make([]float32, 16)
		for i := range proj {
			proj[i] = float32(i)
		}
		g.Floats("dfl.w", []int64{1, 16, 1, 1}, proj)
		g.Node("Conv", []string{"dfl.s", "dfl.w"}, []string{"dfl.c"}, onnx.Ints("kernel_shape", 1, 1))
		g.Ints("dist.shape", 1, 4, 1024)
		g.Node("Reshape", []string{"dfl.c", "dist.shape"}, []string{"dist"})
		split(g, opset, "dist", []string{"lt", "rb"}, 1, 2, 2)
		anchors := make([]float32, 2*1024)
		for i := 0; i < 1024; i++ {
			anchors[i], anchors[1024+i] = float32(i%32)+0.5, float32(i/32)+0.5
		}
		g.Floats("anchors", []int64{1, 2, 1024}, anchors)
		g.Node("Sub", []string{"anchors", "lt"}, []string{"x1y1"})
		g.Node("Add", []string{"anchors", "rb"}, []string{"x2y2"})
		g.Node("Add", []string{"x1y1", "x2y2"}, []string{"c2"})
		g.Floats("two", []int64{1}, []float32{2})
		g.Node("Div", []string{"c2", "two"}, []string{"cxy"})
		g.Node("Sub", []string{"x2y2", "x1y1"}, []string{"wh"})
		g.Node("Concat", []string{"cxy", "wh"}, []string{"dbox"}, onnx.Int("axis", 1))
		if expanded {
			g.Floats("strides", []int64{1, 4, 1024}, fill(4*1024, 32))
		} else {
			g.Floats("strides", []int64{1, 1024}, fill(1024, 32))
		}
		g.Node("Mul", []string{"dbox", "strides"}, []string{"boxes"})
		g.Ints("cls.shape", 1, 2, 1024)
		g.Node("Reshape", []string{"cls", "cls.shape"}, []string{"cls.flat"})
		g.Node("Sigmoid", []string{"cls.flat"}, []string{"scores"})
		g.Node("Concat", []string{"boxes", "scores"}, []string{"y"}, onnx.Int("axis", 1))
	}
}

// split adds a Split as PyTorch exports it at an opset: sizes as an
// attribute before opset 13, as an input from 13 on.
func split(g *onnx.GraphWriter, opset int64, in string, outs []string, axis int64, sizes ...int64) {
	if opset < 13 {
		g.Node("Split", []string{in}, outs, onnx.Int("axis", axis), onnx.Ints("split", sizes...))
		return
	}
	g.Ints(in+".split", sizes...)
	g.Node("Split", []string{in, in + ".split"}, outs, onnx.Int("axis", axis))
}

// v5Head adds a YOLOv5 (v7.0) detection head over one 32×32 grid and 3
// anchors of 2 classes: a 5-D Reshape and Transpose, Sigmoid, Split of
// xy/wh/conf on the last axis, xy·2+grid, (wh·2)^2·anchor (Pow), Concat and
// the final Reshape to [1, 3072, 7].
func v5Head(opset int64) func(g *onnx.GraphWriter) {
	return func(g *onnx.GraphWriter) { v5HeadAt(g, opset) }
}

func v5HeadAt(g *onnx.GraphWriter, opset int64) {
	conv(g, "x", "p", 21)
	g.Ints("p.shape", 1, 3, 7, 32, 32)
	g.Node("Reshape", []string{"p", "p.shape"}, []string{"p5"})
	g.Node("Transpose", []string{"p5"}, []string{"pt"}, onnx.Ints("perm", 0, 1, 3, 4, 2))
	g.Node("Sigmoid", []string{"pt"}, []string{"ps"})
	split(g, opset, "ps", []string{"xy", "wh", "conf"}, 4, 2, 2, 3)
	g.Floats("two", []int64{1}, []float32{2})
	g.Node("Mul", []string{"xy", "two"}, []string{"xy2"})
	g.Floats("grid", []int64{1, 3, 32, 32, 2}, fill(3*32*32*2, 1))
	g.Node("Add", []string{"xy2", "grid"}, []string{"xyg"})
	g.Floats("stride", []int64{1}, []float32{8})
	g.Node("Mul", []string{"xyg", "stride"}, []string{"xyp"})
	g.Node("Mul", []string{"wh", "two"}, []string{"wh2"})
	g.Node("Pow", []string{"wh2", "two"}, []string{"whs"})
	g.Floats("anchor", []int64{1, 3, 32, 32, 2}, fill(3*32*32*2, 10))
	g.Node("Mul", []string{"whs", "anchor"}, []string{"whp"})
	g.Node("Concat", []string{"xyp", "whp", "conf"}, []string{"det"}, onnx.Int("axis", 4))
	g.Ints("det.shape", 1, 3072, 7)
	g.Node("Reshape", []string{"det", "det.shape"}, []string{"y"})
}

// opCases are the operators and opsets of Ultralytics YOLO exports, one
// small graph each, and what OpenCV 4.6 does with them.
func opCases() []opCase {
	var cases []opCase
	for _, opset := range []int64{7, 9, 11, 12, 13, 15, 17, 18, 19, 20, 21} {
		cases = append(cases, opCase{name: "Conv SiLU", opset: opset, want: runs, dims: []int{1, 8, 32, 32},
			build: func(g *onnx.GraphWriter) { conv(g, "x", "c", 8); silu(g, "c", "y") }})
	}
	for _, opset := range []int64{11, 12} {
		cases = append(cases, opCase{name: "YOLOv5 head", opset: opset, build: v5Head(opset), want: runs, dims: []int{1, 3072, 7}})
	}
	for _, opset := range []int64{13, 17} {
		cases = append(cases, opCase{name: "YOLOv5 head", opset: opset, build: v5Head(opset), want: fails, dims: []int{1, 3072, 7}})
	}
	for _, opset := range []int64{12, 17, 19} {
		cases = append(cases,
			opCase{name: "YOLOv8 head", opset: opset, build: v8Head(opset, false), want: fails, dims: []int{1, 6, 1024}},
			opCase{name: "YOLOv8 head, strides expanded to [1,4,N]", opset: opset, build: v8Head(opset, true), want: runs, dims: []int{1, 6, 1024}},
		)
	}
	flat := func(g *onnx.GraphWriter) { // [1, 4, 1024]
		conv(g, "x", "c4", 4)
		g.Ints("flat", 1, 4, 1024)
		g.Node("Reshape", []string{"c4", "flat"}, []string{"t"})
	}
	cases = append(cases,
		opCase{name: "graph output without a declared shape", opset: 12, want: fails, build: func(g *onnx.GraphWriter) {
			g.Node("Relu", []string{"x"}, []string{"y"})
		}},
		opCase{name: "Split, sizes attribute, unequal", opset: 11, want: runs, dims: []int{1, 3, 32, 32}, build: func(g *onnx.GraphWriter) {
			split(g, 11, "x", []string{"a", "b"}, 1, 1, 2)
			g.Node("Concat", []string{"b", "a"}, []string{"y"}, onnx.Int("axis", 1))
		}},
		opCase{name: "Split, sizes input, equal", opset: 13, want: runs, dims: []int{1, 2, 1024}, build: func(g *onnx.GraphWriter) {
			flat(g)
			split(g, 13, "t", []string{"y", "b"}, 1, 2, 2)
		}},
		opCase{name: "Split, sizes input, unequal", opset: 13, want: wrong, dims: []int{1, 3, 1024}, build: func(g *onnx.GraphWriter) {
			flat(g)
			split(g, 13, "t", []string{"a", "y"}, 1, 1, 3)
		}},
		opCase{name: "Split, num_outputs", opset: 18, want: runs, dims: []int{1, 3, 32, 32}, build: func(g *onnx.GraphWriter) {
			g.Node("Split", []string{"x"}, []string{"a", "b", "c"}, onnx.Int("axis", 1), onnx.Int("num_outputs", 3))
			g.Node("Concat", []string{"c", "b", "a"}, []string{"y"}, onnx.Int("axis", 1))
		}},
		opCase{name: "Slice of a 5-D tensor", opset: 13, want: runs, dims: []int{1, 3, 32, 32, 2}, build: func(g *onnx.GraphWriter) {
			conv(g, "x", "p", 21)
			g.Ints("p.shape", 1, 3, 7, 32, 32)
			g.Node("Reshape", []string{"p", "p.shape"}, []string{"p5"})
			g.Node("Transpose", []string{"p5"}, []string{"pt"}, onnx.Ints("perm", 0, 1, 3, 4, 2))
			g.Ints("starts", 0)
			g.Ints("ends", 2)
			g.Ints("axes", 4)
			g.Node("Slice", []string{"pt", "starts", "ends", "axes"}, []string{"y"})
		}},
		opCase{name: "Mul by a [1,N] constant broadcast", opset: 17, want: fails, dims: []int{1, 4, 1024}, build: func(g *onnx.GraphWriter) {
			flat(g)
			g.Floats("k", []int64{1, 1024}, fill(1024, 2))
			g.Node("Mul", []string{"t", "k"}, []string{"y"})
		}},
		opCase{name: "Add of a [1,1,N] constant broadcast", opset: 17, want: fails, dims: []int{1, 4, 1024}, build: func(g *onnx.GraphWriter) {
			flat(g)
			g.Floats("k", []int64{1, 1, 1024}, fill(1024, 2))
			g.Node("Add", []string{"t", "k"}, []string{"y"})
		}},
		opCase{name: "Mul by an [N] constant broadcast", opset: 12, want: fails, dims: []int{1, 4, 1024}, build: func(g *onnx.GraphWriter) {
			flat(g)
			g.Floats("k", []int64{1024}, fill(1024, 2))
			g.Node("Mul", []string{"t", "k"}, []string{"y"})
		}},
		opCase{name: "Sub from a same-shape constant", opset: 12, want: runs, dims: []int{1, 4, 1024}, build: func(g *onnx.GraphWriter) {
			flat(g)
			g.Floats("k", []int64{1, 4, 1024}, fill(4*1024, 2))
			g.Node("Sub", []string{"k", "t"}, []string{"y"})
		}},
		opCase{name: "Mul by a scalar constant", opset: 17, want: runs, dims: []int{1, 4, 1024}, build: func(g *onnx.GraphWriter) {
			flat(g)
			g.Floats("k", []int64{1}, []float32{2})
			g.Node("Mul", []string{"t", "k"}, []string{"y"})
		}},
		opCase{name: "Resize nearest ×2 (roi, scales)", opset: 11, want: runs, dims: []int{1, 3, 64, 64}, build: func(g *onnx.GraphWriter) {
			g.Floats("roi", []int64{0}, nil)
			g.Floats("scales", []int64{4}, []float32{1, 1, 2, 2})
			g.Node("Resize", []string{"x", "roi", "scales"}, []string{"y"}, onnx.String("mode", "nearest"))
		}},
		opCase{name: "Resize nearest ×2 (no roi)", opset: 13, want: runs, dims: []int{1, 3, 64, 64}, build: func(g *onnx.GraphWriter) {
			g.Floats("scales", []int64{4}, []float32{1, 1, 2, 2})
			g.Node("Resize", []string{"x", "", "scales"}, []string{"y"}, onnx.String("mode", "nearest"))
		}},
		opCase{name: "MaxPool 5×5 (SPPF)", opset: 12, want: runs, dims: []int{1, 3, 32, 32}, build: func(g *onnx.GraphWriter) {
			g.Node("MaxPool", []string{"x"}, []string{"y"}, onnx.Ints("kernel_shape", 5, 5), onnx.Ints("pads", 2, 2, 2, 2), onnx.Ints("strides", 1, 1))
		}},
		opCase{name: "Softmax, default axis", opset: 13, want: runs, dims: []int{1, 3, 32, 32}, build: func(g *onnx.GraphWriter) {
			g.Node("Softmax", []string{"x"}, []string{"y"})
		}},
		opCase{name: "dynamic Reshape (Shape, Gather, Concat)", opset: 12, want: runs, dims: []int{1, 3, 1024}, build: func(g *onnx.GraphWriter) {
			g.Node("Shape", []string{"x"}, []string{"s"})
			g.Ints("i0", 0)
			g.Node("Gather", []string{"s", "i0"}, []string{"n"}, onnx.Int("axis", 0))
			g.Ints("rest", 3, -1)
			g.Node("Concat", []string{"n", "rest"}, []string{"shape"}, onnx.Int("axis", 0))
			g.Node("Reshape", []string{"x", "shape"}, []string{"y"})
		}},
	)
	return cases
}

// TestOpenCVONNXSupport writes one small graph per operator pattern and
// opset that Ultralytics exports use and checks what OpenCV 4.6 does with
// it; docs/models.md reports the table. An unsupported graph must come back
// as an error, never end the process.
func TestOpenCVONNXSupport(t *testing.T) {
	dir := t.TempDir()
	for i, c := range opCases() {
		t.Run(fmt.Sprintf("%s opset %d", c.name, c.opset), func(t *testing.T) {
			g := onnx.NewGraph("probe")
			g.Input("x", 1, 3, 32, 32)
			c.build(g)
			if c.dims != nil {
				dims := make([]int64, len(c.dims))
				for i, d := range c.dims {
					dims[i] = int64(d)
				}
				g.Output("y", dims...)
			} else {
				g.Output("y")
			}
			path := filepath.Join(dir, fmt.Sprintf("case%d.onnx", i))
			if err := os.WriteFile(path, g.Encode(c.opset, "edgewatch test"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := onnx.Read(path); err != nil {
				t.Fatalf("the written graph fails the structure check: %v", err)
			}
			dims, err := ProbeONNX(path, 32, 32, "y")
			got := runs
			switch {
			case err != nil:
				got = fails
			case !slices.Equal(dims, c.dims):
				got = wrong
			}
			if got != c.want {
				t.Fatalf("OpenCV %s: %s (dims %v, error %v), want %s", gocv.OpenCVVersion(), got, dims, err, c.want)
			}
			t.Logf("%s: dims %v, error %v", got, dims, err)
		})
	}
}
