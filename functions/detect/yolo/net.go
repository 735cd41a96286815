// Package yolo runs YOLO models through OpenCV's DNN module (gocv) behind
// one interface, Model: a darknet network that package darknet has checked
// (Net) or an ONNX export that package onnx has checked (ONNXNet). Each
// picks the CPU or CUDA backend, runs forward passes and decodes the outputs
// into per-image detections after the same non-maximum suppression.
//
// Darknet images are resized to the network input without letterboxing
// (plain resize, as darknet's own OpenCV demos and BlobFromImage do), so box
// coordinates map back to an image by scaling each axis on its own; ONNX
// images are letterboxed as Ultralytics does (see FitLetterbox).
package yolo

import (
	"errors"
	"fmt"
	"image"
	"math"
	"sort"

	"gocv.io/x/gocv"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
)

// Options tune a loaded network.
type Options struct {
	// InputSize is the square network input in pixels (a multiple of 32);
	// 0 keeps the cfg's width and height.
	InputSize int
	// Confidence is the minimum class score (objectness × class
	// probability) a detection needs, 0–1.
	Confidence float32
	// NMS is the IoU above which a weaker box of the same class is dropped.
	NMS float32
	// Backend is the backend asked for.
	Backend Backend
}

// Detection is one object found in one image.
type Detection struct {
	// Class is the index of the model label.
	Class int
	// Label is the model label.
	Label string
	// Confidence is the class score, 0–1.
	Confidence float32
	// Box is the object's box in the image's pixel coordinates.
	Box image.Rectangle
}

// Net is a loaded YOLO network. It is not safe for concurrent use: one
// forward pass at a time (package batch serialises callers).
type Net struct {
	net      gocv.Net
	outNames []string
	labels   []string
	size     image.Point
	opts     Options
	backend  Backend
	note     string
	blob     gocv.Mat
}

// Load reads a checked model into OpenCV and selects its backend. The model
// must come from darknet.Check: OpenCV's importer aborts the process on a
// malformed cfg, which is why Load takes no paths of its own.
func Load(m *darknet.Model, opts Options) (*Net, error) {
	if m == nil || m.Network == nil {
		return nil, errors.New("yolo: no checked model")
	}
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	size := image.Pt(m.Network.Width, m.Network.Height)
	if opts.InputSize != 0 {
		size = image.Pt(opts.InputSize, opts.InputSize)
	}
	net := gocv.ReadNet(m.Files.Weights, m.Files.Cfg)
	if net.Empty() {
		net.Close()
		return nil, fmt.Errorf("yolo: OpenCV could not read %s", m.Files.Cfg)
	}
	n := &Net{net: net, labels: m.Labels, size: size, opts: opts, blob: gocv.NewMat()}
	n.backend, n.note = resolve(opts.Backend, opts.Backend != BackendCPU && CUDAUsable())
	if err := apply(&n.net, n.backend); err != nil {
		n.Close()
		return nil, fmt.Errorf("yolo: set backend %s: %w", n.backend, err)
	}
	for _, id := range n.net.GetUnconnectedOutLayers() {
		layer := n.net.GetLayer(id)
		n.outNames = append(n.outNames, layer.GetName())
		layer.Close()
	}
	if len(n.outNames) != len(m.Network.Yolos) {
		n.Close()
		return nil, fmt.Errorf("yolo: OpenCV found %d output layers, the cfg has %d [yolo] layers", len(n.outNames), len(m.Network.Yolos))
	}
	return n, nil
}

// checkOptions refuses thresholds outside 0–1 and an input size that is
// not a multiple of 32.
func checkOptions(opts Options) error {
	if opts.Confidence < 0 || opts.Confidence > 1 || opts.NMS < 0 || opts.NMS > 1 {
		return fmt.Errorf("yolo: confidence %.2f and NMS %.2f must lie in 0–1", opts.Confidence, opts.NMS)
	}
	if opts.InputSize != 0 && (opts.InputSize < 32 || opts.InputSize%32 != 0 || opts.InputSize > 4096) {
		return fmt.Errorf("yolo: input size %d is not a multiple of 32 in 32–4096", opts.InputSize)
	}
	return nil
}

// Backend returns the backend the network runs on.
func (n *Net) Backend() Backend { return n.backend }

// BackendNote explains a fallback from the backend asked for ("" if none).
func (n *Net) BackendNote() string { return n.note }

// InputSize returns the network input size.
func (n *Net) InputSize() image.Point { return n.size }

// Labels returns the model's labels in class order.
func (n *Net) Labels() []string { return n.labels }

// Close releases the network.
func (n *Net) Close() error {
	n.blob.Close()
	return n.net.Close()
}

// Warmup runs one forward pass on a black image so that OpenCV allocates
// its buffers and initialises the backend before the first real request.
func (n *Net) Warmup() error {
	img := gocv.NewMatWithSize(n.size.Y, n.size.X, gocv.MatTypeCV8UC3)
	defer img.Close()
	outs, err := n.Forward([]gocv.Mat{img})
	closeAll(outs)
	return err
}

// Forward runs one forward pass over a batch of BGR images and returns the
// raw [yolo] outputs, which the caller must Close. Most callers want Detect.
func (n *Net) Forward(imgs []gocv.Mat) ([]gocv.Mat, error) {
	if len(imgs) == 0 {
		return nil, errors.New("yolo: empty batch")
	}
	for i, img := range imgs {
		if img.Empty() || img.Channels() != 3 {
			return nil, fmt.Errorf("yolo: image %d is empty or not 3-channel", i)
		}
	}
	gocv.BlobFromImages(imgs, &n.blob, 1.0/255, n.size, gocv.NewScalar(0, 0, 0, 0), true, false, gocv.MatTypeCV32F)
	n.net.SetInput(n.blob, "")
	outs := n.net.ForwardLayers(n.outNames)
	if len(outs) != len(n.outNames) {
		closeAll(outs)
		return nil, fmt.Errorf("yolo: forward returned %d outputs, want %d", len(outs), len(n.outNames))
	}
	return outs, nil
}

// Detect runs one forward pass over a batch of BGR images (any sizes) and
// returns each image's detections, most confident first, after per-class
// non-maximum suppression.
func (n *Net) Detect(imgs []gocv.Mat) ([][]Detection, error) {
	outs, err := n.Forward(imgs)
	if err != nil {
		return nil, err
	}
	defer closeAll(outs)
	sizes := make([]image.Point, len(imgs))
	for i, img := range imgs {
		sizes[i] = image.Pt(img.Cols(), img.Rows())
	}
	return Decode(outs, sizes, n.labels, n.opts.Confidence, n.opts.NMS)
}

func closeAll(ms []gocv.Mat) {
	for i := range ms {
		ms[i].Close()
	}
}

// Decode turns [yolo] output Mats of a batch into detections for each image.
// Each output holds rows of [cx, cy, w, h, objectness, class scores…]
// normalised to 0–1, as a 2-D Mat for a batch of one or a 3-D Mat
// (batch × rows × values) otherwise. sizes gives each image's size.
func Decode(outs []gocv.Mat, sizes []image.Point, labels []string, confidence, nms float32) ([][]Detection, error) {
	stride := 5 + len(labels)
	cands := make([][]Detection, len(sizes))
	for _, out := range outs {
		data, err := out.DataPtrFloat32()
		if err != nil {
			return nil, fmt.Errorf("yolo: output: %w", err)
		}
		dims := out.Size()
		if dims[len(dims)-1] != stride || len(data)%(stride*len(sizes)) != 0 {
			return nil, fmt.Errorf("yolo: output shape %v does not match %d images × (%d classes + 5)", dims, len(sizes), len(labels))
		}
		perImage := len(data) / len(sizes)
		for b, sz := range sizes {
			cands[b] = appendRows(cands[b], data[b*perImage:(b+1)*perImage], stride, sz, labels, confidence)
		}
	}
	result := make([][]Detection, len(sizes))
	for b := range cands {
		result[b] = suppress(cands[b], confidence, nms)
	}
	return result, nil
}

// appendRows adds every class score of every row at or above the threshold.
func appendRows(dst []Detection, data []float32, stride int, size image.Point, labels []string, confidence float32) []Detection {
	for r := 0; r+stride <= len(data); r += stride {
		row := data[r : r+stride]
		for c, score := range row[5:] {
			if !(score >= confidence) || score > 1 || math.IsNaN(float64(row[0]+row[1]+row[2]+row[3])) {
				continue
			}
			box := toRect(row[0], row[1], row[2], row[3], size)
			if box.Empty() {
				continue
			}
			dst = append(dst, Detection{Class: c, Label: labels[c], Confidence: score, Box: box})
		}
	}
	return dst
}

// toRect converts a normalised centre box to pixels, clipped to the image.
func toRect(cx, cy, w, h float32, size image.Point) image.Rectangle {
	fw, fh := float64(size.X), float64(size.Y)
	x0 := math.Round(float64(cx-w/2) * fw)
	y0 := math.Round(float64(cy-h/2) * fh)
	x1 := math.Round(float64(cx+w/2) * fw)
	y1 := math.Round(float64(cy+h/2) * fh)
	return image.Rect(int(x0), int(y0), int(x1), int(y1)).Intersect(image.Rect(0, 0, size.X, size.Y))
}

// suppress applies OpenCV's NMSBoxes per class and sorts the survivors by
// confidence. NMSBoxes panics on an empty slice, so empty classes are skipped.
func suppress(cands []Detection, confidence, nms float32) []Detection {
	byClass := map[int][]Detection{}
	for _, d := range cands {
		byClass[d.Class] = append(byClass[d.Class], d)
	}
	var kept []Detection
	for _, ds := range byClass {
		if len(ds) == 0 {
			continue
		}
		boxes := make([]image.Rectangle, len(ds))
		scores := make([]float32, len(ds))
		indices := make([]int, len(ds))
		for i, d := range ds {
			boxes[i], scores[i], indices[i] = d.Box, d.Confidence, -1
		}
		gocv.NMSBoxes(boxes, scores, confidence, nms, indices)
		for _, i := range indices {
			if i < 0 {
				break
			}
			kept = append(kept, ds[i])
		}
	}
	sort.SliceStable(kept, func(i, j int) bool {
		if kept[i].Confidence != kept[j].Confidence {
			return kept[i].Confidence > kept[j].Confidence
		}
		if kept[i].Class != kept[j].Class {
			return kept[i].Class < kept[j].Class
		}
		if kept[i].Box.Min.Y != kept[j].Box.Min.Y {
			return kept[i].Box.Min.Y < kept[j].Box.Min.Y
		}
		return kept[i].Box.Min.X < kept[j].Box.Min.X
	})
	return kept
}
