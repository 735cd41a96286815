package evaluate

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
)

// Options set what Compute measures.
type Options struct {
	// Threshold is the confidence of the operating point at which
	// precision, recall and the confusion are counted (detect's
	// CONF_THRESHOLD, default 0.5); AP uses every detection the model gave.
	Threshold float64
	// Incident gives each model label's incident class ("" = ignored), as
	// detect resolves CLASS_MAP; nil maps nothing and leaves the confusion empty.
	Incident []string
	// IncidentClasses are the incident classes, the confusion's rows and columns.
	IncidentClasses []string
}

// MatchIoU is the IoU at which a detection counts as finding an object for
// precision, recall, AP@0.5 and the confusion.
const MatchIoU = 0.5

// ClassResult is one model label's figures.
type ClassResult struct {
	Label string `json:"label"`
	// Objects is the number of labelled objects of the class.
	Objects int `json:"objects"`
	// Detections is the number of detections at the operating threshold.
	Detections int `json:"detections"`
	// Precision and Recall are at the operating threshold and IoU 0.5.
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	// AP50 and AP5095 are absent when the class has no labelled object.
	AP50   *float64 `json:"ap50,omitempty"`
	AP5095 *float64 `json:"ap50_95,omitempty"`
}

// Confusion counts, after the class map, how the labelled objects of each
// incident class were detected at the operating threshold: Counts[t][p] is
// the objects of class t detected as class p (IoU ≥ 0.5); the last row
// counts false alarms (a detection on no object) and the last column missed
// objects.
type Confusion struct {
	Classes []string `json:"classes"`
	Counts  [][]int  `json:"counts"`
}

// None is the confusion's extra row and column: no object (a false alarm)
// or no detection (a missed object).
const None = "none"

// Report is the outcome of an evaluation.
type Report struct {
	Images    int           `json:"images"`
	Objects   int           `json:"objects"`
	Threshold float64       `json:"threshold"`
	Classes   []ClassResult `json:"classes"`
	// MAP50 and MAP5095 are the means over the classes with labelled objects.
	MAP50     float64   `json:"map50"`
	MAP5095   float64   `json:"map50_95"`
	Confusion Confusion `json:"confusion"`
	// ForwardMS is the mean time of one image's detection (preprocessing,
	// forward pass, decoding and NMS) in milliseconds.
	ForwardMS float64 `json:"mean_forward_ms"`
}

// Compute measures the detections of images against their ground truth for
// the model labels.
func Compute(images []Image, labels []string, o Options) Report {
	r := Report{Images: len(images), Threshold: o.Threshold}
	var sum50, sum5095 float64
	withObjects := 0
	for c, label := range labels {
		cr := ClassResult{Label: label}
		ap50, objects := classAP(images, c, MatchIoU)
		cr.Objects = objects
		dets, matched := operatingPoint(images, c, o.Threshold, MatchIoU)
		cr.Detections = dets
		if dets > 0 {
			cr.Precision = float64(matched) / float64(dets)
		}
		if objects > 0 {
			cr.Recall = float64(matched) / float64(objects)
			mean := 0.0
			for _, t := range COCOThresholds() {
				ap, _ := classAP(images, c, t)
				mean += ap
			}
			mean /= float64(len(COCOThresholds()))
			cr.AP50, cr.AP5095 = &ap50, &mean
			sum50 += ap50
			sum5095 += mean
			withObjects++
		}
		r.Objects += objects
		if objects > 0 || dets > 0 {
			r.Classes = append(r.Classes, cr)
		}
	}
	if withObjects > 0 {
		r.MAP50, r.MAP5095 = sum50/float64(withObjects), sum5095/float64(withObjects)
	}
	r.Confusion = confusion(images, o)
	return r
}

// confusion matches, per image and after the class map, the detections at
// the operating threshold to the objects: first to objects of the same
// incident class, then what is left to objects of any class.
func confusion(images []Image, o Options) Confusion {
	n := len(o.IncidentClasses)
	cm := Confusion{Classes: append(append([]string(nil), o.IncidentClasses...), None), Counts: make([][]int, n+1)}
	for i := range cm.Counts {
		cm.Counts[i] = make([]int, n+1)
	}
	index := map[string]int{}
	for i, c := range o.IncidentClasses {
		index[c] = i
	}
	incident := func(label int) (int, bool) {
		if label < 0 || label >= len(o.Incident) || o.Incident[label] == "" {
			return 0, false
		}
		i, ok := index[o.Incident[label]]
		return i, ok
	}
	type obj struct {
		class int
		score float64
		box   Rect
		used  bool
	}
	for _, img := range images {
		var objs []*obj
		for _, t := range img.Truth {
			if c, ok := incident(t.Class); ok {
				objs = append(objs, &obj{class: c, box: t.Box})
			}
		}
		var preds []obj
		for _, p := range img.Preds {
			if c, ok := incident(p.Class); ok && p.Score >= o.Threshold {
				preds = append(preds, obj{class: c, score: p.Score, box: p.Box})
			}
		}
		sort.SliceStable(preds, func(a, b int) bool { return preds[a].score > preds[b].score })
		for pass := 0; pass < 2; pass++ {
			for i := range preds {
				p := &preds[i]
				if p.used {
					continue
				}
				best, bestIoU := -1, MatchIoU
				for k, t := range objs {
					if t.used || (pass == 0 && t.class != p.class) {
						continue
					}
					if iou := IoU(p.box, t.box); iou >= bestIoU {
						best, bestIoU = k, iou
					}
				}
				if best >= 0 {
					objs[best].used, p.used = true, true
					cm.Counts[objs[best].class][p.class]++
				}
			}
		}
		for _, p := range preds {
			if !p.used {
				cm.Counts[n][p.class]++
			}
		}
		for _, t := range objs {
			if !t.used {
				cm.Counts[t.class][n]++
			}
		}
	}
	return cm
}

// WriteTable writes the report as a table for people, ending with the line
// "mAP@0.5 = <value>".
func (r Report) WriteTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d images, %d objects; precision and recall at confidence ≥ %.2f and IoU ≥ %.2f\n\n", r.Images, r.Objects, r.Threshold, MatchIoU)
	fmt.Fprintf(&b, "%-16s %8s %10s %9s %7s %7s %10s\n", "class", "objects", "detections", "precision", "recall", "AP@0.5", "AP@.5:.95")
	for _, c := range r.Classes {
		fmt.Fprintf(&b, "%-16s %8d %10d %9.3f %7.3f %7s %10s\n", c.Label, c.Objects, c.Detections, c.Precision, c.Recall, opt(c.AP50), opt(c.AP5095))
	}
	fmt.Fprintf(&b, "%-16s %8d %10s %9s %7s %7.3f %10.3f\n", "mean", r.Objects, "", "", "", r.MAP50, r.MAP5095)
	if len(r.Confusion.Classes) > 1 {
		fmt.Fprintf(&b, "\nconfusion after the class map (rows: labelled, columns: detected; %s: no object / not detected)\n", None)
		fmt.Fprintf(&b, "%-10s", "")
		for _, c := range r.Confusion.Classes {
			fmt.Fprintf(&b, " %9s", c)
		}
		b.WriteString("\n")
		for i, row := range r.Confusion.Counts {
			fmt.Fprintf(&b, "%-10s", r.Confusion.Classes[i])
			for _, v := range row {
				fmt.Fprintf(&b, " %9d", v)
			}
			b.WriteString("\n")
		}
	}
	fmt.Fprintf(&b, "\nmean forward time %.1f ms per image (preprocessing, forward, decoding, NMS)\n", r.ForwardMS)
	fmt.Fprintf(&b, "mAP@0.5:0.95 = %.4f\n", r.MAP5095)
	fmt.Fprintf(&b, "mAP@0.5 = %.4f\n", r.MAP50)
	_, err := io.WriteString(w, b.String())
	return err
}

func opt(v *float64) string {
	if v == nil || math.IsNaN(*v) {
		return "-"
	}
	return fmt.Sprintf("%.3f", *v)
}
