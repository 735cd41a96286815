package onnx

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
)

// Kind names an ONNX model Generate can write.
type Kind string

// The generated ONNX models: the colour-pattern network (see
// darknet.PatternCfg) with the output of an Ultralytics export.
const (
	// KindPatternV5 has YOLOv5's output: [1, N, 5+C] rows of cx, cy, w, h
	// (input pixels), objectness and class probabilities.
	KindPatternV5 Kind = "pattern-onnx-v5"
	// KindPatternV8 has YOLOv8/YOLO11's output: [1, 4+C, N], rows cx, cy,
	// w, h (input pixels) and one score per class, no objectness.
	KindPatternV8 Kind = "pattern-onnx-v8"
)

// PatternProducer is the producer_name of generated pattern models; detect
// warns when it loads one.
const PatternProducer = "edgewatch colour-pattern model (NOT a trained detector)"

// PatternSize is the input size of the generated ONNX pattern models, the
// default image size of Ultralytics exports.
const PatternSize = 640

// PatternOpset is the opset the pattern models are written with.
const PatternOpset = 12

// Generated names the files Generate wrote.
type Generated struct {
	// Model is the .onnx file, Names its labels (one a line).
	Model, Names string
}

// Generate writes an ONNX pattern model and its names file into dir
// (created if needed): pattern-v5.onnx or pattern-v8.onnx, and pattern.names.
func Generate(kind Kind, dir string) (*Generated, error) {
	var model []byte
	var file string
	switch kind {
	case KindPatternV5:
		model, file = PatternModel(false, PatternSize), "pattern-v5.onnx"
	case KindPatternV8:
		model, file = PatternModel(true, PatternSize), "pattern-v8.onnx"
	default:
		return nil, fmt.Errorf("unknown ONNX model kind %q (want %s or %s)", kind, KindPatternV5, KindPatternV8)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	g := &Generated{Model: filepath.Join(dir, file), Names: filepath.Join(dir, "pattern.names")}
	if err := writeAtomic(g.Model, model); err != nil {
		return nil, err
	}
	if err := writeAtomic(g.Names, []byte(strings.Join(darknet.IncidentLabels(), "\n")+"\n")); err != nil {
		return nil, err
	}
	return g, nil
}

// PatternModel returns the colour-pattern network as an ONNX model with a
// size×size input (a multiple of darknet.PatternCell), the way Ultralytics
// exports lay out their output: v8 selects [1, 4+C, N], else [1, N, 5+C].
//
// The convolutions are those of darknet.PatternCfg: colour features, a
// per-cell mean, then objectness σ(8Σf−4) and class σ(8f_j−4). Boxes are the
// cells themselves (centre and size in input pixels, a constant). The v5
// output keeps objectness and class probability apart, as YOLOv5 does; the
// v8 output has one score per class, their product, so both layouts score a
// full cell darknet.PatternConfidence(1), as the darknet model does. Like an
// Ultralytics export, the file carries its labels in its "names" metadata.
func PatternModel(v8 bool, size int) []byte {
	const cell, gain = darknet.PatternCell, float32(darknet.PatternGain)
	classes := len(darknet.IncidentLabels())
	grid := size / cell
	n := int64(grid * grid)
	g := NewGraph("edgewatch-pattern")
	g.Input("images", 1, 3, int64(size), int64(size))

	// Colour features per pixel; input channels are R, G, B (the blob swaps BGR).
	g.Floats("features.weight", []int64{4, 3, 1, 1}, []float32{1, 1, -2, 1, -1, -1, -1, 1, -1, -1, -1, 1})
	g.Floats("features.bias", []int64{4}, []float32{-1, 0, 0, 0})
	g.Node("Conv", []string{"images", "features.weight", "features.bias"}, []string{"features.conv"}, Ints("kernel_shape", 1, 1))
	g.Node("Relu", []string{"features.conv"}, []string{"features"})

	// Mean of each feature over a cell.
	mean := make([]float32, 4*4*cell*cell)
	for f := 0; f < 4; f++ {
		for i := 0; i < cell*cell; i++ {
			mean[(f*4+f)*cell*cell+i] = 1 / float32(cell*cell)
		}
	}
	g.Floats("cells.weight", []int64{4, 4, cell, cell}, mean)
	g.Node("Conv", []string{"features", "cells.weight"}, []string{"cells"},
		Ints("kernel_shape", cell, cell), Ints("strides", cell, cell))

	// Objectness: one channel (v5), or one per class to multiply with the
	// class probabilities element by element (v8).
	objChannels := 1
	if v8 {
		objChannels = classes
	}
	objW := make([]float32, objChannels*4)
	objB := make([]float32, objChannels)
	for o := range objB {
		for f := 0; f < 4; f++ {
			objW[o*4+f] = gain
		}
		objB[o] = -gain / 2
	}
	g.Floats("obj.weight", []int64{int64(objChannels), 4, 1, 1}, objW)
	g.Floats("obj.bias", []int64{int64(objChannels)}, objB)
	g.Node("Conv", []string{"cells", "obj.weight", "obj.bias"}, []string{"obj.logit"}, Ints("kernel_shape", 1, 1))
	g.Node("Sigmoid", []string{"obj.logit"}, []string{"obj"})

	clsW := make([]float32, classes*4)
	clsB := make([]float32, classes)
	for j := range clsB {
		clsW[j*4+j] = gain
		clsB[j] = -gain / 2
	}
	g.Floats("cls.weight", []int64{int64(classes), 4, 1, 1}, clsW)
	g.Floats("cls.bias", []int64{int64(classes)}, clsB)
	g.Node("Conv", []string{"cells", "cls.weight", "cls.bias"}, []string{"cls.logit"}, Ints("kernel_shape", 1, 1))
	g.Node("Sigmoid", []string{"cls.logit"}, []string{"cls"})

	// Boxes: each cell's centre and size in input pixels.
	boxes := make([]float32, 4*grid*grid)
	for y := 0; y < grid; y++ {
		for x := 0; x < grid; x++ {
			i := y*grid + x
			boxes[i] = (float32(x) + 0.5) * cell
			boxes[int(n)+i] = (float32(y) + 0.5) * cell
			boxes[2*int(n)+i] = cell
			boxes[3*int(n)+i] = cell
		}
	}
	g.Floats("boxes", []int64{1, 4, int64(grid), int64(grid)}, boxes)

	if v8 {
		rows := int64(4 + classes)
		g.Node("Mul", []string{"cls", "obj"}, []string{"scores"})
		g.Node("Concat", []string{"boxes", "scores"}, []string{"head"}, Int("axis", 1))
		g.Ints("head.shape", 1, rows, n)
		g.Node("Reshape", []string{"head", "head.shape"}, []string{"output0"})
		g.Output("output0", 1, rows, n)
	} else {
		rows := int64(5 + classes)
		g.Node("Concat", []string{"boxes", "obj", "cls"}, []string{"head"}, Int("axis", 1))
		g.Ints("head.shape", 1, rows, n)
		g.Node("Reshape", []string{"head", "head.shape"}, []string{"head.rows"})
		g.Node("Transpose", []string{"head.rows"}, []string{"output0"}, Ints("perm", 0, 2, 1))
		g.Output("output0", 1, n, rows)
	}
	var names []string
	for i, l := range darknet.IncidentLabels() {
		names = append(names, fmt.Sprintf("%d: '%s'", i, l))
	}
	g.Metadata("names", "{"+strings.Join(names, ", ")+"}")
	g.Metadata("imgsz", fmt.Sprintf("[%d, %d]", size, size))
	return g.Encode(PatternOpset, PatternProducer)
}

// writeAtomic writes path through a temporary file renamed into place, so a
// reader never sees a half-written model.
func writeAtomic(path string, b []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
