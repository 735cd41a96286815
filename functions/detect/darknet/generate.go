package darknet

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// Kind names a model the generator can write.
type Kind string

// The kinds of generated models.
const (
	// KindTiny is YOLOv4-tiny (80 classes, 416 px) with deterministic
	// pseudo-random weights: the official layout and file size, no training.
	KindTiny Kind = "tiny"
	// KindFull is YOLOv4 (80 classes, 416 px) with deterministic
	// pseudo-random weights: the official layout and file size, no training.
	KindFull Kind = "full"
	// KindPattern is the crafted colour-pattern model: see PatternCfg.
	KindPattern Kind = "pattern"
)

// IncidentLabels returns the labels of the 4-class incident model edgewatch
// was designed around, in class-index order; the pattern model uses them too.
func IncidentLabels() []string { return []string{"accident", "fire", "gun", "knife"} }

// PatternCell is the pattern model's grid cell and anchor size in
// network-input pixels.
const PatternCell = 32

// Pattern model gains: a cell whose mean colour feature is f scores
// objectness σ(PatternGain·Σf − PatternGain/2) and class σ(PatternGain·f − PatternGain/2).
const PatternGain = 8

// PatternColor returns the colour (R, G, B in 0–255) pattern class j
// responds to, in IncidentLabels order: accident yellow, fire red, gun
// green, knife blue.
func PatternColor(j int) [3]uint8 {
	return [][3]uint8{{255, 255, 0}, {255, 0, 0}, {0, 255, 0}, {0, 0, 255}}[j]
}

// PatternConfidence returns the confidence the pattern model gives a cell
// whose mean colour feature for one class is f (0–1) and zero for the others.
func PatternConfidence(f float64) float64 {
	s := 1 / (1 + math.Exp(-(PatternGain*f - PatternGain/2)))
	return s * s
}

// PatternCfg returns the cfg of the pattern model: a three-convolution
// network whose hand-set weights make its output a known function of the
// input, for tests and for demos without trained weights. It is not a
// detector of real objects.
//
//   - Layer 0 (1×1, relu) turns each RGB pixel into four colour features:
//     yellow = R+G−2B−1, red = R−G−B, green = G−R−B, blue = B−R−G.
//   - Layer 1 (32×32, stride 32) averages each feature over a 32-px cell.
//   - Layer 2 (1×1) writes the [yolo] inputs: box offsets 0 (the box is the
//     cell, whose 32×32 anchor it keeps), objectness 8·Σf−4 and class j 8·f_j−4.
//
// So a cell filled with one pure colour scores PatternConfidence(1) ≈ 0.965
// for that colour's class, a half-filled cell 0.25, an empty one ≈ 0.
// Input size must be a multiple of 32.
func PatternCfg(size int) string {
	w := newCfgWriter("edgewatch colour-pattern model: a crafted test network, NOT a trained detector",
		"batch", "1", "width", itoa(size), "height", itoa(size), "channels", "3")
	w.section("convolutional", "filters", "4", "size", "1", "stride", "1", "pad", "0", "activation", "relu")
	w.section("convolutional", "filters", "4", "size", itoa(PatternCell), "stride", itoa(PatternCell), "pad", "0", "activation", "linear")
	w.head(len(IncidentLabels()), 1)
	w.section("yolo", "mask", "0", "anchors", fmt.Sprintf("%d,%d", PatternCell, PatternCell),
		"classes", itoa(len(IncidentLabels())), "num", "1", "scale_x_y", "1")
	return w.String()
}

// patternParams returns the crafted parameters of pattern layer c.
func patternParams(c Conv) (biases, kernel []float32) {
	biases = make([]float32, c.Filters)
	kernel = make([]float32, c.KernelLen())
	switch c.Layer {
	case 0: // colour features: kernel[f][channel], input channels R, G, B
		feature := [][4]float32{{1, 1, -2, -1}, {1, -1, -1, 0}, {-1, 1, -1, 0}, {-1, -1, 1, 0}}
		for f, k := range feature {
			copy(kernel[f*3:f*3+3], k[:3])
			biases[f] = k[3]
		}
	case 1: // per-feature cell mean
		area := c.Size * c.Size
		for f := 0; f < c.Filters; f++ {
			start := (f*c.Channels + f) * area
			for i := 0; i < area; i++ {
				kernel[start+i] = 1 / float32(area)
			}
		}
	case 2: // [yolo] inputs: tx, ty, tw, th, objectness, class scores
		const g = PatternGain
		for ch := 0; ch < c.Channels; ch++ {
			kernel[4*c.Channels+ch] = g
			kernel[(5+ch)*c.Channels+ch] = g
		}
		biases[4] = -g / 2
		for j := 0; j < c.Channels; j++ {
			biases[5+j] = -g / 2
		}
	}
	return biases, kernel
}

// WriteWeights writes a .weights file for network n; params returns the
// biases and kernel of each convolution, and batch-normalised layers get
// identity normalisation (scale 1, mean 0, variance 1).
func WriteWeights(out io.Writer, n *Network, params func(c Conv) (biases, kernel []float32)) error {
	ww := NewWeightsWriter(out)
	for _, c := range n.Convs {
		biases, kernel := params(c)
		if len(biases) != c.Filters || len(kernel) != c.KernelLen() {
			return fmt.Errorf("layer %d: got %d biases and %d weights, want %d and %d", c.Layer, len(biases), len(kernel), c.Filters, c.KernelLen())
		}
		ww.Write(biases...)
		if c.BatchNorm {
			ww.Fill(c.Filters, 1)
			ww.Fill(c.Filters, 0)
			ww.Fill(c.Filters, 1)
		}
		ww.Write(kernel...)
	}
	if ww.Count() != n.Params() {
		return fmt.Errorf("wrote %d parameters, network has %d", ww.Count(), n.Params())
	}
	return ww.Close()
}

// randomParams returns deterministic pseudo-random parameters with variance
// 1/fan-in, so activations stay bounded through deep networks.
func randomParams(seed uint64) func(c Conv) ([]float32, []float32) {
	state := seed | 1
	next := func() float32 { // xorshift64*, uniform in [-1, 1)
		state ^= state >> 12
		state ^= state << 25
		state ^= state >> 27
		return float32((state*2685821657736338717)>>40)/float32(1<<23) - 1
	}
	return func(c Conv) ([]float32, []float32) {
		fanIn := float32(c.Channels / c.Groups * c.Size * c.Size)
		scale := float32(math.Sqrt(3 / float64(fanIn)))
		kernel := make([]float32, c.KernelLen())
		for i := range kernel {
			kernel[i] = next() * scale
		}
		return make([]float32, c.Filters), kernel
	}
}

// Generated names the files Generate wrote.
type Generated struct {
	Files   Files
	Network *Network
}

// Generate writes the cfg, weights and names of a kind of model into dir
// (created if needed) and returns their paths: yolov4-tiny.*, yolov4.* with
// the 80 COCO labels, or pattern.* with IncidentLabels.
func Generate(kind Kind, dir string) (*Generated, error) {
	var (
		name, cfgText string
		labels        []string
		params        func(Conv) ([]float32, []float32)
	)
	switch kind {
	case KindTiny:
		name, cfgText, labels, params = "yolov4-tiny", TinyCfg(80, 416), COCOLabels(), randomParams(4)
	case KindFull:
		name, cfgText, labels, params = "yolov4", FullCfg(80, 416), COCOLabels(), randomParams(4)
	case KindPattern:
		name, cfgText, labels, params = "pattern", PatternCfg(416), IncidentLabels(), patternParams
	default:
		return nil, fmt.Errorf("unknown model kind %q (want tiny, full or pattern)", kind)
	}
	cfg, err := ParseCfg(strings.NewReader(cfgText))
	if err != nil {
		return nil, fmt.Errorf("generated cfg: %w", err)
	}
	net, err := Analyze(cfg)
	if err != nil {
		return nil, fmt.Errorf("generated cfg: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files := Files{
		Cfg:     filepath.Join(dir, name+".cfg"),
		Weights: filepath.Join(dir, name+".weights"),
		Names:   filepath.Join(dir, name+".names"),
	}
	if err := os.WriteFile(files.Cfg, []byte(cfgText), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(files.Names, []byte(strings.Join(labels, "\n")+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := writeFile(files.Weights, func(w io.Writer) error { return WriteWeights(w, net, params) }); err != nil {
		return nil, err
	}
	return &Generated{Files: files, Network: net}, nil
}

// writeFile writes path through a temporary file renamed into place, so a
// reader never sees a half-written weights file.
func writeFile(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := write(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// COCOLabels returns the 80 COCO class labels of the official YOLOv4
// models, in class-index order.
func COCOLabels() []string {
	return strings.Split("person,bicycle,car,motorbike,aeroplane,bus,train,truck,boat,traffic light,fire hydrant,stop sign,parking meter,bench,bird,cat,dog,horse,sheep,cow,elephant,bear,zebra,giraffe,backpack,umbrella,handbag,tie,suitcase,frisbee,skis,snowboard,sports ball,kite,baseball bat,baseball glove,skateboard,surfboard,tennis racket,bottle,wine glass,cup,fork,knife,spoon,bowl,banana,apple,sandwich,orange,broccoli,ca"+
		"rrot,hot dog,pizza,donut,cake,chair,sofa,pottedplant,bed,diningtable,toilet,tvmonitor,laptop,mouse,remote,keyboard,cell phone,microwave,oven,toaster,sink,refrigerator,book,clock,vase,scissors,teddy bear,hair drier,toothbrush", ",")
}
