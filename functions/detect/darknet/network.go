package darknet

import (
	"fmt"
)

// Conv is the shape of one convolutional layer's parameters.
type Conv struct {
	// Layer is the layer's index in Cfg.Layers.
	Layer int
	// Filters is the number of output channels.
	Filters int
	// Channels is the number of input channels.
	Channels int
	// Size is the kernel's width and height.
	Size int
	// Groups splits the input channels into groups (1 = dense).
	Groups int
	// BatchNorm is true when the layer has batch normalisation.
	BatchNorm bool
}

// Params returns the number of float32 values the layer stores in a
// .weights file: biases, then scales, rolling means and rolling variances
// when batch-normalised, then the kernel weights.
func (c Conv) Params() int64 {
	n := int64(c.Filters) // biases
	if c.BatchNorm {
		n += 3 * int64(c.Filters)
	}
	return n + int64(c.Filters)*int64(c.Channels/c.Groups)*int64(c.Size)*int64(c.Size)
}

// KernelLen returns the number of kernel weights of the layer.
func (c Conv) KernelLen() int { return c.Filters * (c.Channels / c.Groups) * c.Size * c.Size }

// Shape is a layer's output size: channels, height and width.
type Shape struct{ C, H, W int }

// Yolo describes one [yolo] output layer.
type Yolo struct {
	// Layer is the layer's index in Cfg.Layers.
	Layer int
	// Classes is the number of classes the layer scores.
	Classes int
	// Anchors are the anchor sizes (w, h pairs) the layer's mask selects, in
	// network-input pixels.
	Anchors [][2]float64
	// Grid is the layer's output grid (height and width).
	Grid Shape
}

// Network is what a cfg implies: input size, per-layer output shapes, the
// parameter layout of the weights file and the YOLO output layers.
type Network struct {
	// Width, Height and Channels are the network input size from [net].
	Width, Height, Channels int
	// Shapes holds each layer's output shape.
	Shapes []Shape
	// Convs lists the convolutional layers in file order.
	Convs []Conv
	// Yolos lists the [yolo] output layers.
	Yolos []Yolo
}

// Params returns the total number of float32 values in the weights file.
func (n *Network) Params() int64 {
	var total int64
	for _, c := range n.Convs {
		total += c.Params()
	}
	return total
}

// WeightsSize returns the exact size in bytes of a .weights file for this
// network written with the current (major 0, minor 2) header.
func (n *Network) WeightsSize() int64 { return HeaderSize + 4*n.Params() }

// Classes returns the number of classes of the YOLO layers.
func (n *Network) Classes() int {
	if len(n.Yolos) == 0 {
		return 0
	}
	return n.Yolos[0].Classes
}

// activations lists those OpenCV 4.6's darknet importer understands; any
// other name makes it throw from C++.
var activations = map[string]bool{"linear": true, "leaky": true, "relu": true, "mish": true, "swish": true, "logistic": true}

// Analyze walks the layers of a cfg, computing every layer's output shape
// and the parameter layout. It refuses what OpenCV's importer would choke
// on: unknown layer types or activations, bad references, mismatched
// shapes, a [yolo] layer whose input does not have mask×(classes+5)
// channels, and a network without [yolo] output.
func Analyze(cfg *Cfg) (*Network, error) {
	n := &Network{}
	var err error
	if n.Width, err = cfg.Net.Int("width", 0); err != nil {
		return nil, err
	}
	if n.Height, err = cfg.Net.Int("height", 0); err != nil {
		return nil, err
	}
	if n.Channels, err = cfg.Net.Int("channels", 3); err != nil {
		return nil, err
	}
	if n.Width <= 0 || n.Height <= 0 || n.Channels <= 0 || n.Width > 8192 || n.Height > 8192 {
		return nil, fmt.Errorf("cfg [net]: width=%d height=%d channels=%d are not a valid input size", n.Width, n.Height, n.Channels)
	}
	if len(cfg.Layers) == 0 {
		return nil, fmt.Errorf("cfg has no layers after [net]")
	}
	prev := Shape{C: n.Channels, H: n.Height, W: n.Width}
	for i, s := range cfg.Layers {
		var out Shape
		switch s.Type {
		case "convolutional", "conv":
			out, err = n.conv(i, s, prev)
		case "maxpool", "max":
			out, err = maxpool(s, prev)
		case "avgpool", "avg":
			out = Shape{C: prev.C, H: 1, W: 1}
		case "route":
			out, err = n.route(i, s)
		case "shortcut":
			out, err = n.shortcut(i, s, prev)
		case "upsample":
			var stride int
			if stride, err = s.Int("stride", 2); err == nil && stride < 1 {
				err = fmt.Errorf("cfg line %d [upsample]: stride=%d", s.Line, stride)
			}
			out = Shape{C: prev.C, H: prev.H * stride, W: prev.W * stride}
		case "yolo":
			out, err = n.yolo(i, s, prev)
		default:
			err = fmt.Errorf("cfg line %d: layer type [%s] is not supported", s.Line, s.Type)
		}
		if err != nil {
			return nil, err
		}
		if out.C <= 0 || out.H <= 0 || out.W <= 0 {
			return nil, fmt.Errorf("cfg line %d [%s]: output %dx%dx%d is empty", s.Line, s.Type, out.C, out.H, out.W)
		}
		n.Shapes = append(n.Shapes, out)
		prev = out
	}
	if len(n.Yolos) == 0 {
		return nil, fmt.Errorf("cfg has no [yolo] layer")
	}
	for _, y := range n.Yolos {
		if y.Classes != n.Yolos[0].Classes {
			return nil, fmt.Errorf("cfg [yolo] layers disagree on classes (%d vs %d)", y.Classes, n.Yolos[0].Classes)
		}
	}
	return n, nil
}

func (n *Network) conv(i int, s Section, in Shape) (Shape, error) {
	c := Conv{Layer: i, Channels: in.C}
	var err error
	get := func(key string, def int) int {
		if err != nil {
			return 0
		}
		var v int
		v, err = s.Int(key, def)
		return v
	}
	c.Filters = get("filters", 1)
	c.Size = get("size", 1)
	stride := get("stride", 1)
	pad := get("pad", 0)
	padding := get("padding", 0)
	c.Groups = get("groups", 1)
	c.BatchNorm = get("batch_normalize", 0) != 0
	dilation := get("dilation", 1)
	if err != nil {
		return Shape{}, err
	}
	if act := s.Options["activation"]; act != "" && !activations[act] {
		return Shape{}, fmt.Errorf("cfg line %d [convolutional]: activation %q is not supported", s.Line, act)
	}
	if c.Filters < 1 || c.Size < 1 || stride < 1 || c.Groups < 1 || dilation != 1 {
		return Shape{}, fmt.Errorf("cfg line %d [convolutional]: filters=%d size=%d stride=%d groups=%d dilation=%d", s.Line, c.Filters, c.Size, stride, c.Groups, dilation)
	}
	if in.C%c.Groups != 0 || c.Filters%c.Groups != 0 {
		return Shape{}, fmt.Errorf("cfg line %d [convolutional]: %d input channels and %d filters are not divisible by groups=%d", s.Line, in.C, c.Filters, c.Groups)
	}
	if pad != 0 {
		padding = c.Size / 2
	}
	n.Convs = append(n.Convs, c)
	return Shape{C: c.Filters, H: (in.H+2*padding-c.Size)/stride + 1, W: (in.W+2*padding-c.Size)/stride + 1}, nil
}

func maxpool(s Section, in Shape) (Shape, error) {
	stride, err := s.Int("stride", 1)
	if err != nil {
		return Shape{}, err
	}
	size, err := s.Int("size", stride)
	if err != nil {
		return Shape{}, err
	}
	padding, err := s.Int("padding", size-1)
	if err != nil {
		return Shape{}, err
	}
	if stride < 1 || size < 1 || padding < 0 {
		return Shape{}, fmt.Errorf("cfg line %d [maxpool]: size=%d stride=%d padding=%d", s.Line, size, stride, padding)
	}
	return Shape{C: in.C, H: (in.H+padding-size)/stride + 1, W: (in.W+padding-size)/stride + 1}, nil
}

// ref resolves a layer reference (negative = relative to layer i).
func (n *Network) ref(i int, s Section, r int) (Shape, error) {
	idx := r
	if r < 0 {
		idx = i + r
	}
	if idx < 0 || idx >= i {
		return Shape{}, fmt.Errorf("cfg line %d [%s]: layer reference %d points outside layers 0..%d", s.Line, s.Type, r, i-1)
	}
	return n.Shapes[idx], nil
}

func (n *Network) route(i int, s Section) (Shape, error) {
	refs, err := s.Ints("layers")
	if err != nil {
		return Shape{}, err
	}
	if len(refs) == 0 {
		return Shape{}, fmt.Errorf("cfg line %d [route]: no layers", s.Line)
	}
	groups, err := s.Int("groups", 1)
	if err != nil {
		return Shape{}, err
	}
	groupID, err := s.Int("group_id", 0)
	if err != nil {
		return Shape{}, err
	}
	var out Shape
	for k, r := range refs {
		sh, err := n.ref(i, s, r)
		if err != nil {
			return Shape{}, err
		}
		if k == 0 {
			out = Shape{H: sh.H, W: sh.W}
		} else if sh.H != out.H || sh.W != out.W {
			return Shape{}, fmt.Errorf("cfg line %d [route]: layers %v have different sizes (%dx%d vs %dx%d)", s.Line, refs, sh.H, sh.W, out.H, out.W)
		}
		out.C += sh.C
	}
	if groups < 1 || groupID < 0 || groupID >= groups || out.C%groups != 0 {
		return Shape{}, fmt.Errorf("cfg line %d [route]: groups=%d group_id=%d for %d channels", s.Line, groups, groupID, out.C)
	}
	out.C /= groups
	return out, nil
}

func (n *Network) shortcut(i int, s Section, prev Shape) (Shape, error) {
	refs, err := s.Ints("from")
	if err != nil {
		return Shape{}, err
	}
	if len(refs) != 1 {
		return Shape{}, fmt.Errorf("cfg line %d [shortcut]: want one 'from' layer, got %v", s.Line, refs)
	}
	if act := s.Options["activation"]; act != "" && !activations[act] {
		return Shape{}, fmt.Errorf("cfg line %d [shortcut]: activation %q is not supported", s.Line, act)
	}
	if _, ok := s.Options["weights_type"]; ok {
		return Shape{}, fmt.Errorf("cfg line %d [shortcut]: weighted shortcuts are not supported", s.Line)
	}
	from, err := n.ref(i, s, refs[0])
	if err != nil {
		return Shape{}, err
	}
	if from.H != prev.H || from.W != prev.W {
		return Shape{}, fmt.Errorf("cfg line %d [shortcut]: sizes differ (%dx%d vs %dx%d)", s.Line, from.H, from.W, prev.H, prev.W)
	}
	return prev, nil
}

func (n *Network) yolo(i int, s Section, in Shape) (Shape, error) {
	classes, err := s.Int("classes", 0)
	if err != nil {
		return Shape{}, err
	}
	anchors, err := s.Floats("anchors")
	if err != nil {
		return Shape{}, err
	}
	mask, err := s.Ints("mask")
	if err != nil {
		return Shape{}, err
	}
	if classes < 1 || len(anchors) == 0 || len(anchors)%2 != 0 {
		return Shape{}, fmt.Errorf("cfg line %d [yolo]: classes=%d and %d anchor values", s.Line, classes, len(anchors))
	}
	if len(mask) == 0 {
		for k := 0; k < len(anchors)/2; k++ {
			mask = append(mask, k)
		}
	}
	y := Yolo{Layer: i, Classes: classes, Grid: Shape{H: in.H, W: in.W}}
	for _, m := range mask {
		if m < 0 || 2*m+1 >= len(anchors) {
			return Shape{}, fmt.Errorf("cfg line %d [yolo]: mask %d outside %d anchors", s.Line, m, len(anchors)/2)
		}
		y.Anchors = append(y.Anchors, [2]float64{anchors[2*m], anchors[2*m+1]})
	}
	if want := len(mask) * (classes + 5); in.C != want {
		return Shape{}, fmt.Errorf("cfg line %d [yolo]: input has %d channels, want %d (%d anchors × (%d classes + 5))", s.Line, in.C, want, len(mask), classes)
	}
	n.Yolos = append(n.Yolos, y)
	return in, nil
}
