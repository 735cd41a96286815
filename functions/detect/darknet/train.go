package darknet

import (
	"fmt"
	"strings"
)

// TrainOptions describe a cfg for training a model on one's own classes.
type TrainOptions struct {
	// Base is the layout: KindTiny (YOLOv4-tiny, two [yolo] layers, six
	// anchors) or KindFull (YOLOv4, three [yolo] layers, nine anchors).
	Base Kind
	// Classes is the number of classes, 1 or more.
	Classes int
	// Size is the square network input, a multiple of 32.
	Size int
	// Anchors are the anchor sizes in input pixels, smallest area first:
	// six for tiny, nine for full; nil keeps the official anchors.
	Anchors [][2]int
	// TrainImages is the number of training images; max_batches is at
	// least this many (0 = unknown).
	TrainImages int
}

// AnchorCount returns how many anchors a base layout takes (0 if unknown).
func AnchorCount(base Kind) int {
	switch base {
	case KindTiny:
		return 6
	case KindFull:
		return 9
	}
	return 0
}

// MaxBatches returns darknet's rule for the training length: 2000
// iterations per class, but no fewer than 6000 nor than the training images.
func MaxBatches(classes, trainImages int) int {
	return max(classes*2000, 6000, trainImages)
}

// TrainCfg returns a darknet training cfg: the official YOLOv4 or
// YOLOv4-tiny layout with classes=N in every [yolo] layer, filters =
// (N+5)×3 in the convolution before each, the given anchors (masks 0,1,2 …
// so every anchor is used, smallest at the finest stride), and a training
// [net] section: batch 64, max_batches by MaxBatches, learning-rate steps
// at 80% and 90% of it.
func TrainCfg(o TrainOptions) (string, error) {
	want := AnchorCount(o.Base)
	if want == 0 {
		return "", fmt.Errorf("base %q: want tiny or full", o.Base)
	}
	if o.Classes < 1 || o.Classes > 9999 {
		return "", fmt.Errorf("classes %d: want 1 or more", o.Classes)
	}
	if o.Size < 32 || o.Size%32 != 0 || o.Size > 4096 {
		return "", fmt.Errorf("input size %d is not a multiple of 32 in 32–4096", o.Size)
	}
	anchors := o.Anchors
	if anchors == nil {
		anchors = officialAnchors(o.Base)
	}
	if len(anchors) != want {
		return "", fmt.Errorf("%s layout takes %d anchors, got %d", o.Base, want, len(anchors))
	}
	parts := make([]string, len(anchors))
	for i, a := range anchors {
		if a[0] < 1 || a[1] < 1 {
			return "", fmt.Errorf("anchor %d is %dx%d", i, a[0], a[1])
		}
		if i > 0 && a[0]*a[1] < anchors[i-1][0]*anchors[i-1][1] {
			return "", fmt.Errorf("anchors must be sorted by area, smallest first (anchor %d)", i)
		}
		parts[i] = fmt.Sprintf("%d,%d", a[0], a[1])
	}
	list := strings.Join(parts, ",  ")
	mb := MaxBatches(o.Classes, o.TrainImages)
	// The official yolov4-custom.cfg and yolov4-tiny-custom.cfg values.
	subdivisions, momentum, rate := "16", "0.949", "0.001"
	if o.Base == KindTiny {
		subdivisions, momentum, rate = "1", "0.9", "0.00261"
	}
	net := []string{"batch", "64", "subdivisions", subdivisions, "width", itoa(o.Size), "height", itoa(o.Size), "channels", "3",
		"momentum", momentum, "decay", "0.0005", "angle", "0", "saturation", "1.5", "exposure", "1.5", "hue", ".1",
		"learning_rate", rate, "burn_in", "1000", "max_batches", itoa(mb), "policy", "steps",
		"steps", fmt.Sprintf("%d,%d", mb*8/10, mb*9/10), "scales", ".1,.1"}
	title := fmt.Sprintf("%s for training %d classes at %dx%d", map[Kind]string{KindTiny: "YOLOv4-tiny", KindFull: "YOLOv4"}[o.Base], o.Classes, o.Size, o.Size)
	if o.Base == KindTiny {
		return tinyLayout(title, o.Classes, net, list, [2]string{"3,4,5", "0,1,2"}), nil
	}
	return fullLayout(title, o.Classes, append(net, "mosaic", "1"), list), nil
}

// officialAnchors returns the anchors of the official cfgs (computed on COCO at 416).
func officialAnchors(base Kind) [][2]int {
	if base == KindTiny {
		return [][2]int{{10, 14}, {23, 27}, {37, 58}, {81, 82}, {135, 169}, {344, 319}}
	}
	return [][2]int{{12, 16}, {19, 36}, {40, 28}, {36, 75}, {76, 55}, {72, 146}, {142, 110}, {192, 243}, {459, 401}}
}
