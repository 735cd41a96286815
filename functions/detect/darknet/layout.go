package darknet

import (
	"fmt"
	"strings"
)

// cfgWriter builds darknet cfg text one section at a time and keeps the
// index of the next layer, so routes can name the layers they join.
type cfgWriter struct {
	b     strings.Builder
	next  int
	mark  map[string]int
	title string
}

func newCfgWriter(title string, net ...string) *cfgWriter {
	w := &cfgWriter{mark: map[string]int{}, title: title}
	fmt.Fprintf(&w.b, "# %s\n# Written by edgewatch's darknet generator (functions/detect/darknet).\n\n", title)
	w.section("net", net...)
	w.next = 0
	return w
}

// section writes [typ] with alternating key, value arguments and returns the
// index of the layer it declares (the [net] section does not count).
func (w *cfgWriter) section(typ string, kv ...string) int {
	fmt.Fprintf(&w.b, "[%s]\n", typ)
	for i := 0; i+1 < len(kv); i += 2 {
		fmt.Fprintf(&w.b, "%s=%s\n", kv[i], kv[i+1])
	}
	w.b.WriteString("\n")
	w.next++
	return w.next - 1
}

// conv writes a batch-normalised, padded convolution.
func (w *cfgWriter) conv(filters, size, stride int, act string) int {
	return w.section("convolutional", "batch_normalize", "1", "filters", itoa(filters), "size", itoa(size),
		"stride", itoa(stride), "pad", "1", "activation", act)
}

// head writes the linear 1×1 convolution that feeds a [yolo] layer.
func (w *cfgWriter) head(classes, anchors int) int {
	return w.section("convolutional", "size", "1", "stride", "1", "pad", "1",
		"filters", itoa(anchors*(classes+5)), "activation", "linear")
}

// rel returns the relative reference from the next layer to layer idx.
func (w *cfgWriter) rel(idx int) string { return itoa(idx - w.next) }

func (w *cfgWriter) String() string { return w.b.String() }

func itoa(n int) string { return fmt.Sprint(n) }

func netSection(size int, extra ...string) []string {
	return append([]string{"batch", "1", "subdivisions", "1", "width", itoa(size), "height", itoa(size), "channels", "3",
		"momentum", "0.949", "decay", "0.0005", "learning_rate", "0.0013", "burn_in", "1000", "max_batches", "500500",
		"policy", "steps", "steps", "400000,450000", "scales", ".1,.1"}, extra...)
}

// TinyCfg returns a YOLOv4-tiny cfg with the official layer layout (CSP
// blocks with grouped routes, two [yolo] scales at strides 32 and 16) for
// the given number of classes and square input size. With 80 classes its
// weights file has the official size, 24,251,276 bytes.
func TinyCfg(classes, size int) string {
	return tinyLayout("YOLOv4-tiny layout", classes, netSection(size), "10,14,  23,27,  37,58,  81,82,  135,169,  344,319", [2]string{"3,4,5", "1,2,3"})
}

// tinyLayout writes the YOLOv4-tiny layout with the given [net] options,
// anchors and the masks of its two [yolo] layers (stride 32, then 16).
func tinyLayout(title string, classes int, net []string, anchors string, masks [2]string) string {
	w := newCfgWriter(title, net...)
	yolo := func(mask string) int {
		return w.section("yolo", "mask", mask, "anchors", anchors, "classes", itoa(classes), "num", "6",
			"jitter", ".3", "scale_x_y", "1.05", "cls_normalizer", "1.0", "iou_normalizer", "0.07",
			"iou_loss", "ciou", "ignore_thresh", ".7", "truth_thresh", "1", "random", "0", "resize", "1.5",
			"nms_kind", "greedynms", "beta_nms", "0.6")
	}
	w.conv(32, 3, 2, "leaky")
	w.conv(64, 3, 2, "leaky")
	var partial int
	for i, f := range []int{64, 128, 256} {
		if i > 0 {
			w.section("maxpool", "size", "2", "stride", "2")
		}
		first := w.conv(f, 3, 1, "leaky")
		w.section("route", "layers", "-1", "groups", "2", "group_id", "1")
		a := w.conv(f/2, 3, 1, "leaky")
		w.conv(f/2, 3, 1, "leaky")
		w.section("route", "layers", "-1,"+w.rel(a))
		partial = w.conv(f, 1, 1, "leaky")
		w.section("route", "layers", w.rel(first)+",-1")
	}
	w.section("maxpool", "size", "2", "stride", "2")
	w.conv(512, 3, 1, "leaky")
	neck := w.conv(256, 1, 1, "leaky")
	w.conv(512, 3, 1, "leaky")
	w.head(classes, 3)
	yolo(masks[0])
	w.section("route", "layers", w.rel(neck))
	w.conv(128, 1, 1, "leaky")
	w.section("upsample", "stride", "2")
	w.section("route", "layers", "-1,"+itoa(partial))
	w.conv(256, 3, 1, "leaky")
	w.head(classes, 3)
	yolo(masks[1])
	return w.String()
}

// FullCfg returns a YOLOv4 cfg with the official layer layout (CSPDarknet53
// backbone with mish, SPP, PANet neck, three [yolo] scales at strides 8, 16
// and 32) for the given number of classes and square input size. With 80
// classes its weights file has the official size, 257,717,640 bytes.
func FullCfg(classes, size int) string {
	return fullLayout("YOLOv4 layout", classes, netSection(size, "mosaic", "1"), "12, 16, 19, 36, 40, 28, 36, 75, 76, 55, 72, 146, 142, 110, 192, 243, 459, 401")
}

// fullLayout writes the YOLOv4 layout with the given [net] options and nine
// anchors, smallest first (masks 0,1,2 at stride 8 up to 6,7,8 at stride 32).
func fullLayout(title string, classes int, net []string, anchors string) string {
	w := newCfgWriter(title, net...)
	yolo := func(mask, scale string) int {
		return w.section("yolo", "mask", mask, "anchors", anchors, "classes", itoa(classes), "num", "9",
			"jitter", ".3", "ignore_thresh", ".7", "truth_thresh", "1", "scale_x_y", scale, "iou_thresh", "0.213",
			"cls_normalizer", "1.0", "iou_normalizer", "0.07", "iou_loss", "ciou", "nms_kind", "greedynms",
			"beta_nms", "0.6", "max_delta", "5")
	}
	w.conv(32, 3, 1, "mish")
	// CSPDarknet53: five downsampling stages of cross-stage-partial residual blocks.
	stage := func(filters, blocks int, first bool) int {
		part, mid := filters/2, filters/2
		if first {
			part, mid = filters, filters/2
		}
		w.conv(filters, 3, 2, "mish")
		split := w.conv(part, 1, 1, "mish")
		w.section("route", "layers", "-2")
		w.conv(part, 1, 1, "mish")
		for i := 0; i < blocks; i++ {
			w.conv(mid, 1, 1, "mish")
			w.conv(part, 3, 1, "mish")
			w.section("shortcut", "from", "-3", "activation", "linear")
		}
		w.conv(part, 1, 1, "mish")
		w.section("route", "layers", "-1,"+w.rel(split))
		return w.conv(filters, 1, 1, "mish")
	}
	stage(64, 1, true)
	stage(128, 2, false)
	c3 := stage(256, 8, false)
	c4 := stage(512, 8, false)
	stage(1024, 4, false)

	w.conv(512, 1, 1, "leaky")
	w.conv(1024, 3, 1, "leaky")
	spp := w.conv(512, 1, 1, "leaky")
	for i, size := range []int{5, 9, 13} {
		if i > 0 {
			w.section("route", "layers", w.rel(spp))
		}
		w.section("maxpool", "stride", "1", "size", itoa(size))
	}
	w.section("route", "layers", "-1,-3,-5,-6")
	w.conv(512, 1, 1, "leaky")
	w.conv(1024, 3, 1, "leaky")
	p5 := w.conv(512, 1, 1, "leaky")

	// PANet, top-down.
	topDown := func(filters, lateral int) int {
		w.conv(filters, 1, 1, "leaky")
		w.section("upsample", "stride", "2")
		w.section("route", "layers", itoa(lateral))
		w.conv(filters, 1, 1, "leaky")
		w.section("route", "layers", "-1, -3")
		var last int
		for i := 0; i < 5; i++ {
			if i%2 == 0 {
				last = w.conv(filters, 1, 1, "leaky")
			} else {
				w.conv(filters*2, 3, 1, "leaky")
			}
		}
		return last
	}
	p4 := topDown(256, c4)
	p3 := topDown(128, c3)

	// Bottom-up with the three detection heads.
	w.conv(256, 3, 1, "leaky")
	w.head(classes, 3)
	yolo("0,1,2", "1.2")
	bottomUp := func(filters, from, lateral int, mask, scale string) int {
		w.section("route", "layers", w.rel(from))
		w.conv(filters, 3, 2, "leaky")
		w.section("route", "layers", "-1, "+w.rel(lateral))
		var last int
		for i := 0; i < 5; i++ {
			if i%2 == 0 {
				last = w.conv(filters, 1, 1, "leaky")
			} else {
				w.conv(filters*2, 3, 1, "leaky")
			}
		}
		w.conv(filters*2, 3, 1, "leaky")
		w.head(classes, 3)
		yolo(mask, scale)
		return last
	}
	n4 := bottomUp(256, p3, p4, "3,4,5", "1.1")
	bottomUp(512, n4, p5, "6,7,8", "1.05")
	return w.String()
}
