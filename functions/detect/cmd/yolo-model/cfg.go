package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strings"

	"github.com/edgewatch/edgewatch/functions/detect/anchors"
	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/dataset"
)

func cfgCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cfg", flag.ContinueOnError)
	fs.SetOutput(stderr)
	classes := fs.Int("classes", 0, "number of classes (required)")
	size := fs.Int("size", 416, "square network input, a multiple of 32")
	from := fs.String("anchors-from", "", "compute the anchors by k-means (1−IoU distance) over this dataset's boxes, and make max_batches at least its image count (default: the official anchors)")
	base := fs.String("base", "tiny", "tiny (YOLOv4-tiny) or full (YOLOv4)")
	seed := fs.Uint64("seed", 1, "k-means seed (the same dataset and seed give the same anchors)")
	out := fs.String("out", "", "cfg file to write (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *out == "" || *classes < 1 || fs.NArg() != 0 {
		return errors.New("cfg: want --classes N (≥ 1) and --out FILE")
	}
	opts := darknet.TrainOptions{Base: darknet.Kind(*base), Classes: *classes, Size: *size}
	if *from != "" {
		k := darknet.AnchorCount(opts.Base)
		if k == 0 {
			return fmt.Errorf("cfg: base %q: want tiny or full", *base)
		}
		ds, err := dataset.Read(*from, *classes)
		if err != nil {
			return err
		}
		got, meanIoU, err := datasetAnchors(ds, k, *size, *seed)
		if err != nil {
			return fmt.Errorf("cfg: %w", err)
		}
		opts.Anchors, opts.TrainImages = got, len(ds.Items)
		fmt.Fprintf(stderr, "anchors from %d boxes of %s: %s (mean best IoU %.3f)\n", ds.Boxes(), *from, anchorText(got), meanIoU)
	}
	text, err := darknet.TrainCfg(opts)
	if err != nil {
		return fmt.Errorf("cfg: %w", err)
	}
	// Read back what was written with detect's own parser and layout check.
	parsed, err := darknet.ParseCfg(strings.NewReader(text))
	if err != nil {
		return fmt.Errorf("cfg: written cfg does not parse: %w", err)
	}
	net, err := darknet.Analyze(parsed)
	if err != nil {
		return fmt.Errorf("cfg: written cfg does not check: %w", err)
	}
	if err := os.WriteFile(*out, []byte(text), 0o644); err != nil {
		return err
	}
	mb := darknet.MaxBatches(opts.Classes, opts.TrainImages)
	fmt.Fprintf(stdout, "wrote %s: %s layout, %d classes, input %dx%d, %d [yolo] layers, filters=%d before each, max_batches=%d, steps=%d,%d, weights file %d bytes\n",
		*out, *base, net.Classes(), net.Width, net.Height, len(net.Yolos), (opts.Classes+5)*3, mb, mb*8/10, mb*9/10, net.WeightsSize())
	return nil
}

// datasetAnchors clusters the dataset's box sizes, scaled to the network
// input, into k anchors rounded to whole pixels, smallest area first, and
// returns their mean best IoU with the boxes.
func datasetAnchors(ds *dataset.Dataset, k, size int, seed uint64) ([][2]int, float64, error) {
	var boxes []anchors.Size
	for _, it := range ds.Items {
		for _, b := range it.Boxes {
			boxes = append(boxes, anchors.Size{W: b.W * float64(size), H: b.H * float64(size)})
		}
	}
	centres, err := anchors.KMeans(boxes, k, seed)
	if err != nil {
		return nil, 0, err
	}
	meanIoU, err := anchors.MeanIoU(boxes, centres)
	if err != nil {
		return nil, 0, err
	}
	out := make([][2]int, len(centres))
	for i, c := range centres {
		out[i] = [2]int{max(1, int(math.Round(c.W))), max(1, int(math.Round(c.H)))}
	}
	// Rounding can swap two anchors of nearly equal area: keep them sorted.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j][0]*out[j][1] < out[j-1][0]*out[j-1][1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, meanIoU, nil
}

func anchorText(a [][2]int) string {
	parts := make([]string, len(a))
	for i, s := range a {
		parts[i] = fmt.Sprintf("%dx%d", s[0], s[1])
	}
	return strings.Join(parts, " ")
}
