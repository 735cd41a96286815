package yolo

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
	"strings"

	"gocv.io/x/gocv"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/onnx"
)

// Layout is the output layout of an ONNX YOLO export.
type Layout string

// The output layouts LoadONNX understands.
const (
	// LayoutV5 is YOLOv5's [1, N, 5+C]: per row cx, cy, w, h in input
	// pixels, objectness, then class probabilities (score = objectness ×
	// probability).
	LayoutV5 Layout = "yolov5"
	// LayoutV8 is YOLOv8's and YOLO11's [1, 4+C, N]: per column cx, cy, w,
	// h in input pixels, then one score per class.
	LayoutV8 Layout = "yolov8"
)

// DefaultONNXInput is the input size of an ONNX model whose input shape is
// dynamic when Options.InputSize is 0: Ultralytics' default image size.
const DefaultONNXInput = 640

// ONNXNet is a loaded ONNX YOLO export. Images are letterboxed as
// Ultralytics does (resized keeping their aspect ratio, centred, padded with
// grey 114) and boxes mapped back through the same scale and offset. It
// runs one forward pass per image: exports fix their batch size at 1.
type ONNXNet struct {
	net      gocv.Net
	output   string
	labels   []string
	size     image.Point
	layout   Layout
	rows     int
	opts     Options
	backend  Backend
	note     string
	producer string
	resized  gocv.Mat
	boxed    gocv.Mat
	blob     gocv.Mat
}

// LoadONNX checks and loads an ONNX YOLO export and its names file (one
// label per line). Before serving it checks, in order: the names file; the
// model's protocol-buffer structure (package onnx); that the names file
// agrees with the names an Ultralytics export carries, if any; one image input of 3
// channels; that OpenCV imports it and runs a forward pass (in a guarded
// probe, so that OpenCV's exceptions become errors instead of ending the
// process); and that the output is [1, N, 5+C] or [1, 4+C, N] for the C
// labels. opts.InputSize applies only to a model with a dynamic input.
func LoadONNX(model, names string, opts Options) (*ONNXNet, error) {
	if err := checkOptions(opts); err != nil {
		return nil, err
	}
	labels, err := darknet.ReadNames(names)
	if err != nil {
		return nil, err
	}
	if len(labels) == 0 {
		return nil, fmt.Errorf("model names %s: no labels", names)
	}
	m, err := onnx.Read(model)
	if err != nil {
		return nil, err
	}
	if embedded, ok, err := m.Names(); ok && err == nil && !slices.Equal(embedded, labels) {
		return nil, fmt.Errorf("model names %s (%d labels: %s) disagree with the names the export %s carries (%d: %s): write the names file from them, one a line in class order",
			names, len(labels), strings.Join(first(labels, 6), ", "), model, len(embedded), strings.Join(first(embedded, 6), ", "))
	}
	size, err := onnxInput(m, opts.InputSize)
	if err != nil {
		return nil, fmt.Errorf("onnx model %s: %w", model, err)
	}
	output := m.Graph.Outputs[0].Name
	dims, err := ProbeONNX(model, size.Y, size.X, output)
	if err != nil {
		return nil, fmt.Errorf("onnx model %s: OpenCV %s cannot run it (opset %d, ops %s): %v",
			model, gocv.OpenCVVersion(), m.Opset(), strings.Join(m.Ops(), " "), err)
	}
	if declared := m.Graph.Outputs[0].Dims; !sameShape(declared, dims) {
		return nil, fmt.Errorf("onnx model %s: OpenCV %s computes output %q as %v, the model declares %v: an operator was imported wrongly (docs/models.md lists what OpenCV 4.6 gets wrong, e.g. Split with sizes given as an input at opset 13 and later)",
			model, gocv.OpenCVVersion(), output, dims, declared)
	}
	layout, rows, err := LayoutOf(dims, len(labels))
	if err != nil {
		return nil, fmt.Errorf("onnx model %s with names %s: %w", model, names, err)
	}
	net := gocv.ReadNetFromONNX(model)
	if net.Empty() {
		net.Close()
		return nil, fmt.Errorf("onnx model %s: OpenCV could not read it", model)
	}
	n := &ONNXNet{net: net, output: output, labels: labels, size: size, layout: layout, rows: rows, opts: opts,
		producer: m.Producer, resized: gocv.NewMat(), boxed: gocv.NewMat(), blob: gocv.NewMat()}
	n.backend, n.note = resolve(opts.Backend, opts.Backend != BackendCPU && CUDAUsable())
	if err := apply(&n.net, n.backend); err != nil {
		n.Close()
		return nil, fmt.Errorf("yolo: set backend %s: %w", n.backend, err)
	}
	return n, nil
}

// sameShape reports whether computed dims agree with declared ones; a
// declared dim of -1 (symbolic) or an undeclared shape agrees with anything.
func sameShape(declared []int64, dims []int) bool {
	if declared == nil {
		return true
	}
	if len(declared) != len(dims) {
		return false
	}
	for i, d := range declared {
		if d > 0 && int(d) != dims[i] {
			return false
		}
	}
	return true
}

// onnxInput returns the network input size of a model with one NCHW image
// input, refusing an INPUT_SIZE that its fixed shape cannot take.
func onnxInput(m *onnx.Model, want int) (image.Point, error) {
	if len(m.Graph.Inputs) != 1 {
		return image.Point{}, fmt.Errorf("%d inputs, want one image input", len(m.Graph.Inputs))
	}
	in := m.Graph.Inputs[0]
	d := in.Dims
	if len(d) != 4 || (d[1] != 3 && d[1] != -1) || d[0] > 1 {
		return image.Point{}, fmt.Errorf("input %q has shape %v, want [1, 3, height, width]", in.Name, d)
	}
	if d[2] > 0 && d[3] > 0 {
		if d[2] > 8192 || d[3] > 8192 {
			return image.Point{}, fmt.Errorf("input %q of %dx%d is too large", in.Name, d[3], d[2])
		}
		if want != 0 && (int64(want) != d[2] || int64(want) != d[3]) {
			return image.Point{}, fmt.Errorf("input %q is fixed at %dx%d, INPUT_SIZE %d cannot change it (export again with that image size)", in.Name, d[3], d[2], want)
		}
		return image.Pt(int(d[3]), int(d[2])), nil
	}
	if want == 0 {
		want = DefaultONNXInput
	}
	return image.Pt(want, want), nil
}

// first returns at most n elements of list.
func first(list []string, n int) []string {
	if len(list) > n {
		return list[:n]
	}
	return list
}

// LayoutOf tells the layout of an output of the given dims for a model of
// classes labels, and returns its number of candidate boxes.
func LayoutOf(dims []int, classes int) (Layout, int, error) {
	d := dims
	if len(d) == 3 && d[0] == 1 {
		d = d[1:]
	}
	if len(d) != 2 || d[0] <= 0 || d[1] <= 0 {
		return "", 0, fmt.Errorf("output shape %v: want [1, N, 5+classes] (YOLOv5) or [1, 4+classes, N] (YOLOv8/YOLO11)", dims)
	}
	v5, v8 := d[1] == 5+classes, d[0] == 4+classes
	switch {
	case v5 && v8:
		return "", 0, fmt.Errorf("output shape %v fits both YOLOv5's [1, N, 5+%d] and YOLOv8's [1, 4+%d, N]: cannot tell the layout", dims, classes, classes)
	case v5:
		return LayoutV5, d[0], nil
	case v8:
		return LayoutV8, d[1], nil
	}
	hint := ""
	switch {
	case d[0] > d[1] && d[1] > 5:
		hint = fmt.Sprintf(" (it looks like a YOLOv5 export of %d classes)", d[1]-5)
	case d[1] > d[0] && d[0] > 4:
		hint = fmt.Sprintf(" (it looks like a YOLOv8/YOLO11 export of %d classes)", d[0]-4)
	}
	return "", 0, fmt.Errorf("output shape %v does not match the names file's %d labels: want [1, N, %d] (YOLOv5) or [1, %d, N] (YOLOv8/YOLO11)%s",
		dims, classes, 5+classes, 4+classes, hint)
}

// Backend returns the backend the network runs on.
func (n *ONNXNet) Backend() Backend { return n.backend }

// BackendNote explains a fallback from the backend asked for ("" if none).
func (n *ONNXNet) BackendNote() string { return n.note }

// InputSize returns the network input size.
func (n *ONNXNet) InputSize() image.Point { return n.size }

// Labels returns the model's labels in class order.
func (n *ONNXNet) Labels() []string { return n.labels }

// Layout returns the model's output layout.
func (n *ONNXNet) Layout() Layout { return n.layout }

// Producer returns the program that wrote the file, as the file says.
func (n *ONNXNet) Producer() string { return n.producer }

// Close releases the network and its buffers.
func (n *ONNXNet) Close() error {
	n.resized.Close()
	n.boxed.Close()
	n.blob.Close()
	return n.net.Close()
}

// Warmup runs one forward pass on a grey image.
func (n *ONNXNet) Warmup() error {
	img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(114, 114, 114, 0), n.size.Y, n.size.X, gocv.MatTypeCV8UC3)
	defer img.Close()
	_, err := n.Detect([]gocv.Mat{img})
	return err
}

// Detect runs each BGR image of the batch through the network and returns
// its detections in the image's pixel coordinates.
func (n *ONNXNet) Detect(imgs []gocv.Mat) ([][]Detection, error) {
	if len(imgs) == 0 {
		return nil, errors.New("yolo: empty batch")
	}
	for i, img := range imgs {
		if img.Empty() || img.Channels() != 3 {
			return nil, fmt.Errorf("yolo: image %d is empty or not 3-channel", i)
		}
	}
	result := make([][]Detection, len(imgs))
	for i, img := range imgs {
		lb := n.letterbox(img)
		gocv.BlobFromImages([]gocv.Mat{n.boxed}, &n.blob, 1.0/255, n.size, gocv.NewScalar(0, 0, 0, 0), true, false, gocv.MatTypeCV32F)
		n.net.SetInput(n.blob, "")
		out := n.net.Forward(n.output)
		cands, err := n.decode(out, lb)
		out.Close()
		if err != nil {
			return nil, err
		}
		result[i] = suppress(cands, n.opts.Confidence, n.opts.NMS)
	}
	return result, nil
}

// Letterbox is how an image was fitted into the network input: scaled by
// Scale, then shifted by Pad (left, top).
type Letterbox struct {
	// Image is the original image size.
	Image image.Point
	// Scale is network pixels per image pixel.
	Scale float64
	// Resized is the scaled image's size, Pad its offset in the input.
	Resized, Pad image.Point
}

// FitLetterbox computes Ultralytics' letterbox of an image into a network
// input (LetterBox with auto=False, centre=True): scale r = min(W/w, H/h),
// the scaled size rounded as Python rounds, and padding split evenly, the
// odd pixel going to the bottom and right.
func FitLetterbox(img, input image.Point) Letterbox {
	r := math.Min(float64(input.X)/float64(img.X), float64(input.Y)/float64(img.Y))
	w := int(math.RoundToEven(float64(img.X) * r))
	h := int(math.RoundToEven(float64(img.Y) * r))
	left := int(math.Round(float64(input.X-w)/2 - 0.1))
	top := int(math.Round(float64(input.Y-h)/2 - 0.1))
	return Letterbox{Image: img, Scale: r, Resized: image.Pt(w, h), Pad: image.Pt(left, top)}
}

// ToImage maps a centre box in network-input pixels to a rectangle in the
// image's pixels, clipped to the image.
func (lb Letterbox) ToImage(cx, cy, w, h float32) image.Rectangle {
	x := func(v float32) int { return int(math.Round((float64(v) - float64(lb.Pad.X)) / lb.Scale)) }
	y := func(v float32) int { return int(math.Round((float64(v) - float64(lb.Pad.Y)) / lb.Scale)) }
	r := image.Rect(x(cx-w/2), y(cy-h/2), x(cx+w/2), y(cy+h/2))
	return r.Intersect(image.Rectangle{Max: lb.Image})
}

// letterbox fills n.boxed with the letterboxed image.
func (n *ONNXNet) letterbox(img gocv.Mat) Letterbox {
	lb := FitLetterbox(image.Pt(img.Cols(), img.Rows()), n.size)
	src := img
	if lb.Resized != lb.Image {
		gocv.Resize(img, &n.resized, lb.Resized, 0, 0, gocv.InterpolationLinear)
		src = n.resized
	}
	bottom := n.size.Y - lb.Resized.Y - lb.Pad.Y
	right := n.size.X - lb.Resized.X - lb.Pad.X
	gocv.CopyMakeBorder(src, &n.boxed, lb.Pad.Y, bottom, lb.Pad.X, right, gocv.BorderConstant, color.RGBA{R: 114, G: 114, B: 114, A: 255}) // Ultralytics' grey
	return lb
}

// decode reads one image's output into candidate detections.
func (n *ONNXNet) decode(out gocv.Mat, lb Letterbox) ([]Detection, error) {
	data, err := out.DataPtrFloat32()
	if err != nil {
		return nil, fmt.Errorf("yolo: output: %w", err)
	}
	classes := len(n.labels)
	stride := 5 + classes
	if n.layout == LayoutV8 {
		stride = 4 + classes
	}
	if len(data) != n.rows*stride {
		return nil, fmt.Errorf("yolo: output of %d values, want %d × %d", len(data), n.rows, stride)
	}
	// at returns value k of candidate i.
	at := func(i, k int) float32 { return data[i*stride+k] }
	first, obj := 5, func(i int) float32 { return at(i, 4) }
	if n.layout == LayoutV8 {
		at = func(i, k int) float32 { return data[k*n.rows+i] }
		first, obj = 4, func(int) float32 { return 1 }
	}
	var cands []Detection
	for i := 0; i < n.rows; i++ {
		o := obj(i)
		if !(o >= n.opts.Confidence) {
			continue
		}
		cx, cy, w, h := at(i, 0), at(i, 1), at(i, 2), at(i, 3)
		if math.IsNaN(float64(cx + cy + w + h)) {
			continue
		}
		for c := 0; c < classes; c++ {
			score := o * at(i, first+c)
			if !(score >= n.opts.Confidence) || score > 1 {
				continue
			}
			box := lb.ToImage(cx, cy, w, h)
			if box.Empty() {
				continue
			}
			cands = append(cands, Detection{Class: c, Label: n.labels[c], Confidence: score, Box: box})
		}
	}
	return cands, nil
}
