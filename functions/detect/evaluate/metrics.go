package evaluate

import (
	"math"
	"sort"
)

// Rect is a box in image pixels: Min inclusive, Max exclusive, as image.Rectangle but in floats.
type Rect struct{ X0, Y0, X1, Y1 float64 }

// Area returns the box area (0 for an empty box).
func (r Rect) Area() float64 { return math.Max(0, r.X1-r.X0) * math.Max(0, r.Y1-r.Y0) }

// IoU returns the intersection over union of two boxes.
func IoU(a, b Rect) float64 {
	inter := Rect{math.Max(a.X0, b.X0), math.Max(a.Y0, b.Y0), math.Min(a.X1, b.X1), math.Min(a.Y1, b.Y1)}.Area()
	union := a.Area() + b.Area() - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

// Truth is one labelled object of an image.
type Truth struct {
	Class int
	Box   Rect
}

// Pred is one detection of an image.
type Pred struct {
	Class int
	Score float64
	Box   Rect
}

// Image is the ground truth and the detections of one image.
type Image struct {
	Truth []Truth
	Preds []Pred
}

// RecallPoints is the number of recall levels of COCO's interpolated
// precision: 0, 0.01, …, 1.
const RecallPoints = 101

// AP returns the COCO-style average precision of a ranked detection list:
// hits[i] says whether the i-th most confident detection matched a
// ground-truth object, objects is the number of ground-truth objects. The
// precision is made monotone (each point takes the best precision at any
// higher recall) and averaged at the 101 recall levels 0, 0.01, …, 1; a
// level beyond the highest recall reached counts 0.
func AP(hits []bool, objects int) float64 {
	if objects == 0 {
		return 0
	}
	recall := make([]float64, len(hits))
	precision := make([]float64, len(hits))
	tp := 0
	for i, h := range hits {
		if h {
			tp++
		}
		recall[i] = float64(tp) / float64(objects)
		precision[i] = float64(tp) / float64(i+1)
	}
	for i := len(precision) - 2; i >= 0; i-- {
		precision[i] = math.Max(precision[i], precision[i+1])
	}
	sum := 0.0
	for k := 0; k < RecallPoints; k++ {
		r := float64(k) / float64(RecallPoints-1)
		// The first detection whose recall reaches r (recall is non-decreasing).
		i := sort.SearchFloat64s(recall, r)
		if i < len(recall) {
			sum += precision[i]
		}
	}
	return sum / RecallPoints
}

// scored is one detection of a class with whether it matched.
type scored struct {
	score float64
	hit   bool
}

// matchClass matches one image's detections of one class (any order) to
// its objects of that class at an IoU threshold, COCO's way: most confident
// detection first, each taking the unmatched object it overlaps most with
// IoU ≥ threshold.
func matchClass(preds []Pred, truths []Rect, threshold float64) []scored {
	order := make([]int, len(preds))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return preds[order[a]].Score > preds[order[b]].Score })
	used := make([]bool, len(truths))
	out := make([]scored, 0, len(preds))
	for _, i := range order {
		best, bestIoU := -1, threshold
		for t, box := range truths {
			if used[t] {
				continue
			}
			if iou := IoU(preds[i].Box, box); iou >= bestIoU {
				best, bestIoU = t, iou
			}
		}
		if best >= 0 {
			used[best] = true
		}
		out = append(out, scored{score: preds[i].Score, hit: best >= 0})
	}
	return out
}

// classAP ranks every image's matched detections of class c by score and
// returns the average precision at the threshold and the number of objects.
func classAP(images []Image, c int, threshold float64) (float64, int) {
	var all []scored
	objects := 0
	for _, img := range images {
		preds, truths := ofClass(img, c)
		objects += len(truths)
		all = append(all, matchClass(preds, truths, threshold)...)
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].score > all[b].score })
	hits := make([]bool, len(all))
	for i, s := range all {
		hits[i] = s.hit
	}
	return AP(hits, objects), objects
}

// operatingPoint counts class c's detections scoring at least minScore and
// those that matched an object at IoU ≥ threshold.
func operatingPoint(images []Image, c int, minScore, threshold float64) (detections, matched int) {
	for _, img := range images {
		preds, truths := ofClass(img, c)
		var kept []Pred
		for _, p := range preds {
			if p.Score >= minScore {
				kept = append(kept, p)
			}
		}
		for _, s := range matchClass(kept, truths, threshold) {
			detections++
			if s.hit {
				matched++
			}
		}
	}
	return detections, matched
}

func ofClass(img Image, c int) ([]Pred, []Rect) {
	var preds []Pred
	var truths []Rect
	for _, p := range img.Preds {
		if p.Class == c {
			preds = append(preds, p)
		}
	}
	for _, t := range img.Truth {
		if t.Class == c {
			truths = append(truths, t.Box)
		}
	}
	return preds, truths
}

// COCOThresholds returns the IoU thresholds of mAP@0.5:0.95: 0.50, 0.55, …, 0.95.
func COCOThresholds() []float64 {
	out := make([]float64, 10)
	for i := range out {
		out[i] = 0.5 + float64(i)*0.05
	}
	return out
}
