// Package evaluate measures a detection model on a labelled dataset: it
// runs every image through the model as detect does (the model's own
// preprocessing, forward pass, decoding and NMS), matches the detections to
// the labelled objects per class, and computes per-class precision, recall
// and average precision (COCO's 101-point interpolation) at IoU 0.5 and
// over 0.5:0.95, their means, the confusion between incident classes after
// the class map, and the mean forward time.
package evaluate

import (
	"context"
	"fmt"
	"time"

	"gocv.io/x/gocv"

	"github.com/edgewatch/edgewatch/functions/detect/dataset"
	"github.com/edgewatch/edgewatch/functions/detect/yolo"
)

// Detector is the model under evaluation: detect's darknet network
// (*yolo.Net) or any other model that gives detections in image pixels
// after NMS.
type Detector interface {
	// Labels returns the model's labels in class order.
	Labels() []string
	// Detect returns each BGR image's detections in its own pixels.
	Detect(imgs []gocv.Mat) ([][]yolo.Detection, error)
}

// Run evaluates d on every image of ds. The dataset's class ids are the
// model's label indices. The clock is injected to time the forward passes.
func Run(ctx context.Context, d Detector, ds *dataset.Dataset, o Options, now func() time.Time) (Report, error) {
	if len(ds.Items) == 0 || ds.Boxes() == 0 {
		return Report{}, fmt.Errorf("evaluate: dataset %s has no labelled objects: nothing to measure", ds.Dir)
	}
	images := make([]Image, 0, len(ds.Items))
	var spent time.Duration
	for _, it := range ds.Items {
		if err := ctx.Err(); err != nil {
			return Report{}, err
		}
		img, took, err := detectOne(d, it, now)
		if err != nil {
			return Report{}, err
		}
		spent += took
		images = append(images, img)
	}
	r := Compute(images, d.Labels(), o)
	r.ForwardMS = float64(spent) / float64(time.Millisecond) / float64(len(images))
	return r, nil
}

// detectOne reads one image, runs the detector on it and returns its truth
// and detections in image pixels and the detection's duration.
func detectOne(d Detector, it dataset.Item, now func() time.Time) (Image, time.Duration, error) {
	mat := gocv.IMRead(it.Image, gocv.IMReadColor)
	defer mat.Close()
	if mat.Empty() {
		return Image{}, 0, fmt.Errorf("evaluate: %s: not a readable image", it.Image)
	}
	start := now()
	dets, err := d.Detect([]gocv.Mat{mat})
	took := now().Sub(start)
	if err != nil {
		return Image{}, 0, fmt.Errorf("evaluate: %s: %w", it.Image, err)
	}
	if len(dets) != 1 {
		return Image{}, 0, fmt.Errorf("evaluate: %s: the model returned %d results for one image", it.Image, len(dets))
	}
	w, h := float64(mat.Cols()), float64(mat.Rows())
	var img Image
	for _, b := range it.Boxes {
		img.Truth = append(img.Truth, Truth{Class: b.Class, Box: Rect{
			X0: (b.CX - b.W/2) * w, Y0: (b.CY - b.H/2) * h, X1: (b.CX + b.W/2) * w, Y1: (b.CY + b.H/2) * h}})
	}
	for _, det := range dets[0] {
		img.Preds = append(img.Preds, Pred{Class: det.Class, Score: float64(det.Confidence), Box: Rect{
			X0: float64(det.Box.Min.X), Y0: float64(det.Box.Min.Y), X1: float64(det.Box.Max.X), Y1: float64(det.Box.Max.Y)}})
	}
	return img, took, nil
}
