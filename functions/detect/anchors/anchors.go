// Package anchors computes YOLO anchor boxes from a dataset's box sizes by
// k-means clustering with the IoU distance 1 − IoU (boxes compared as if
// they shared a centre), as darknet's calc_anchors and the YOLOv2 paper do.
package anchors

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
)

// Size is a box width and height in network-input pixels.
type Size struct{ W, H float64 }

// Area returns W×H.
func (s Size) Area() float64 { return s.W * s.H }

// IoU returns the intersection over union of two boxes with the same centre.
func IoU(a, b Size) float64 {
	inter := math.Min(a.W, b.W) * math.Min(a.H, b.H)
	union := a.Area() + b.Area() - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

// maxIterations bounds the k-means refinement; it converges in tens.
const maxIterations = 1000

// KMeans clusters the box sizes into k anchors with the distance 1 − IoU,
// seeded by k-means++ from a generator with the given seed (the same boxes
// and seed give the same anchors), and returns the anchors sorted by area,
// smallest first. It needs at least k distinct sizes.
func KMeans(boxes []Size, k int, seed uint64) ([]Size, error) {
	if k < 1 {
		return nil, fmt.Errorf("anchors: k=%d", k)
	}
	distinct := map[Size]bool{}
	for _, b := range boxes {
		if !(b.W > 0 && b.H > 0) || math.IsInf(b.W, 0) || math.IsInf(b.H, 0) {
			return nil, fmt.Errorf("anchors: box size %gx%g", b.W, b.H)
		}
		distinct[b] = true
	}
	if len(distinct) < k {
		return nil, fmt.Errorf("anchors: %d distinct box sizes, need at least %d for %d anchors", len(distinct), k, k)
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x2545f4914f6cdd1d))
	centres := seedPlusPlus(boxes, k, rng)
	assign := make([]int, len(boxes))
	for i := range assign {
		assign[i] = -1
	}
	for it := 0; it < maxIterations; it++ {
		changed := false
		for i, b := range boxes {
			if c := nearest(b, centres); c != assign[i] {
				assign[i], changed = c, true
			}
		}
		if !changed {
			break
		}
		centres = update(boxes, assign, centres)
	}
	sort.SliceStable(centres, func(i, j int) bool { return centres[i].Area() < centres[j].Area() })
	return centres, nil
}

// MeanIoU returns the mean over boxes of the best IoU with any anchor: how
// well the anchors fit the boxes (darknet prints it as "avg IoU").
func MeanIoU(boxes []Size, anchors []Size) (float64, error) {
	if len(boxes) == 0 || len(anchors) == 0 {
		return 0, errors.New("anchors: no boxes or no anchors")
	}
	sum := 0.0
	for _, b := range boxes {
		sum += IoU(b, anchors[nearest(b, anchors)])
	}
	return sum / float64(len(boxes)), nil
}

// seedPlusPlus picks k initial centres: the first at random, each next one
// with probability proportional to its squared distance to the nearest
// centre chosen so far.
func seedPlusPlus(boxes []Size, k int, rng *rand.Rand) []Size {
	centres := []Size{boxes[rng.IntN(len(boxes))]}
	dist := make([]float64, len(boxes))
	for len(centres) < k {
		total := 0.0
		for i, b := range boxes {
			d := 1 - IoU(b, centres[nearest(b, centres)])
			dist[i] = d * d
			total += dist[i]
		}
		r := rng.Float64() * total
		pick := -1
		for i, d := range dist {
			if d == 0 {
				continue
			}
			pick = i
			if r -= d; r <= 0 {
				break
			}
		}
		centres = append(centres, boxes[pick])
	}
	return centres
}

// nearest returns the index of the centre with the highest IoU with b.
func nearest(b Size, centres []Size) int {
	best, bestIoU := 0, -1.0
	for c, s := range centres {
		if iou := IoU(b, s); iou > bestIoU {
			best, bestIoU = c, iou
		}
	}
	return best
}

// update moves each centre to the mean of its boxes; an empty cluster takes
// the box farthest from its own centre.
func update(boxes []Size, assign []int, old []Size) []Size {
	sums := make([]Size, len(old))
	counts := make([]int, len(old))
	for i, b := range boxes {
		sums[assign[i]].W += b.W
		sums[assign[i]].H += b.H
		counts[assign[i]]++
	}
	centres := make([]Size, len(old))
	for c := range centres {
		if counts[c] == 0 {
			far, farDist := 0, -1.0
			for i, b := range boxes {
				if d := 1 - IoU(b, old[assign[i]]); d > farDist {
					far, farDist = i, d
				}
			}
			centres[c] = boxes[far]
			continue
		}
		centres[c] = Size{W: sums[c].W / float64(counts[c]), H: sums[c].H / float64(counts[c])}
	}
	return centres
}
