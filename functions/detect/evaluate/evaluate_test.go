package evaluate

import (
	"context"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gocv.io/x/gocv"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/dataset"
	"github.com/edgewatch/edgewatch/functions/detect/dataset/patternset"
	"github.com/edgewatch/edgewatch/functions/detect/yolo"
)

// patternNet loads the generated colour-pattern model with detect's
// loader; minScore is its confidence floor.
func patternNet(t *testing.T, minScore float32) *yolo.Net {
	t.Helper()
	g, err := darknet.Generate(darknet.KindPattern, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := darknet.Check(g.Files)
	if err != nil {
		t.Fatal(err)
	}
	n, err := yolo.Load(m, yolo.Options{Confidence: minScore, NMS: 0.45, Backend: yolo.BackendCPU})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// patternImages is a fixed set: square and non-square images (the model
// resizes without letterbox, so both axes scale on their own), each class
// present.
func patternImages() []patternset.Image {
	imgs := patternset.Random(6, 5, 416, 416, 7)
	imgs = append(imgs, patternset.Random(6, 4, 832, 624, 8)...)
	for i := range imgs {
		imgs[i].Name = filepath.Base(imgs[i].Name) + "_" + string(rune('a'+i))
	}
	return imgs
}

// writeSet writes the images with labels relabel gives each image's objects.
func writeSet(t *testing.T, imgs []patternset.Image, relabel func(patternset.Object) []dataset.Box) string {
	t.Helper()
	dir := t.TempDir()
	for _, im := range imgs {
		if err := patternset.WriteImage(dir, im); err != nil {
			t.Fatal(err)
		}
		var boxes []dataset.Box
		for _, o := range im.Objects {
			boxes = append(boxes, relabel(o)...)
		}
		if err := patternset.WriteLabels(dir, im.Name, boxes); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func evaluateSet(t *testing.T, net Detector, dir string) Report {
	t.Helper()
	ds, err := dataset.Read(dir, len(net.Labels()))
	if err != nil {
		t.Fatal(err)
	}
	labels := darknet.IncidentLabels()
	r, err := Run(context.Background(), net, ds, Options{Threshold: 0.5, Incident: labels, IncidentClasses: labels}, time.Now)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// counts returns the objects per class of the images.
func counts(imgs []patternset.Image) []int {
	n := make([]int, len(darknet.IncidentLabels()))
	for _, im := range imgs {
		for _, o := range im.Objects {
			n[o.Class]++
		}
	}
	return n
}

func ap50(t *testing.T, r Report, label string) float64 {
	t.Helper()
	for _, c := range r.Classes {
		if c.Label == label && c.AP50 != nil {
			return *c.AP50
		}
	}
	t.Fatalf("no AP for %s in %+v", label, r.Classes)
	return 0
}

func TestEvaluateTrueLabelsScoresOne(t *testing.T) {
	imgs := patternImages()
	n := counts(imgs)
	for c, k := range n {
		if k == 0 {
			t.Fatalf("class %d absent from the set: pick another seed", c)
		}
	}
	r := evaluateSet(t, patternNet(t, 0.005), writeSet(t, imgs, func(o patternset.Object) []dataset.Box { return []dataset.Box{o.Box()} }))
	if r.Images != len(imgs) || r.Objects != n[0]+n[1]+n[2]+n[3] {
		t.Fatalf("%d images, %d objects", r.Images, r.Objects)
	}
	if !near(r.MAP50, 1) || !near(r.MAP5095, 1) {
		t.Fatalf("mAP@0.5 %v, mAP@0.5:0.95 %v, want 1: %+v", r.MAP50, r.MAP5095, r.Classes)
	}
	for _, c := range r.Classes {
		if c.Precision != 1 || c.Recall != 1 {
			t.Errorf("%+v", c)
		}
	}
	for i := range n {
		for j := range r.Confusion.Counts[i] {
			want := 0
			if i == j {
				want = n[i]
			}
			if r.Confusion.Counts[i][j] != want {
				t.Fatalf("confusion %v, objects per class %v", r.Confusion.Counts, n)
			}
		}
	}
	if r.ForwardMS <= 0 {
		t.Fatalf("forward time %v", r.ForwardMS)
	}
}

func TestEvaluateShiftedBoxesLoseTheirClass(t *testing.T) {
	imgs := patternImages()
	n := counts(imgs)
	const gun = 2
	// Every gun box moved right by half a cell: IoU 1/3 with the detection, under 0.5.
	dir := writeSet(t, imgs, func(o patternset.Object) []dataset.Box {
		b := o.Box()
		if o.Class == gun {
			b.CX += b.W / 2
		}
		return []dataset.Box{b}
	})
	r := evaluateSet(t, patternNet(t, 0.005), dir)
	if got := ap50(t, r, "gun"); got != 0 {
		t.Fatalf("gun AP@0.5 %v with every box shifted", got)
	}
	if !near(r.MAP50, 0.75) {
		t.Fatalf("mAP@0.5 %v, want 3 of 4 classes perfect = 0.75", r.MAP50)
	}
	// Every gun object missed, every gun detection a false alarm.
	none := len(n)
	if r.Confusion.Counts[gun][none] != n[gun] || r.Confusion.Counts[none][gun] != n[gun] || r.Confusion.Counts[gun][gun] != 0 {
		t.Fatalf("confusion %v, %d guns", r.Confusion.Counts, n[gun])
	}
}

func TestEvaluateSwappedClassesShowInTheConfusion(t *testing.T) {
	imgs := patternImages()
	n := counts(imgs)
	const fire, knife = 1, 3
	dir := writeSet(t, imgs, func(o patternset.Object) []dataset.Box {
		b := o.Box()
		switch o.Class {
		case fire:
			b.Class = knife
		case knife:
			b.Class = fire
		}
		return []dataset.Box{b}
	})
	r := evaluateSet(t, patternNet(t, 0.005), dir)
	if ap50(t, r, "fire") != 0 || ap50(t, r, "knife") != 0 || !near(r.MAP50, 0.5) {
		t.Fatalf("fire %v knife %v mAP %v, want 0, 0, 0.5", ap50(t, r, "fire"), ap50(t, r, "knife"), r.MAP50)
	}
	// Labelled fire (really blue squares) detected as knife, and the other way round.
	if r.Confusion.Counts[fire][knife] != n[knife] || r.Confusion.Counts[knife][fire] != n[fire] || r.Confusion.Counts[fire][fire] != 0 {
		t.Fatalf("confusion %v, objects per class %v", r.Confusion.Counts, n)
	}
}

func TestEvaluateObjectsTheModelCannotSeeCutRecall(t *testing.T) {
	imgs := patternImages()
	const accident = 0
	// Each accident square gets a second accident label on an empty cell of
	// the same image: half the accident objects can never be found.
	dir := writeSet(t, imgs, func(o patternset.Object) []dataset.Box {
		boxes := []dataset.Box{o.Box()}
		if o.Class == accident {
			boxes = append(boxes, patternset.Object{Class: accident, Col: (o.Col + 6) % patternset.Grid, Row: (o.Row + 6) % patternset.Grid}.Box())
		}
		return boxes
	})
	// The phantom cells must be empty for the expectation to hold.
	for _, im := range imgs {
		used := map[[2]int]bool{}
		for _, o := range im.Objects {
			used[[2]int{o.Col, o.Row}] = true
		}
		for _, o := range im.Objects {
			if o.Class == accident && used[[2]int{(o.Col + 6) % patternset.Grid, (o.Row + 6) % patternset.Grid}] {
				t.Fatal("a phantom label landed on a square: pick another seed")
			}
		}
	}
	r := evaluateSet(t, patternNet(t, 0.005), dir)
	// Recall stops at 0.5 with precision 1: levels 0…0.50 of 101.
	if got := ap50(t, r, "accident"); !near(got, 51.0/101) {
		t.Fatalf("accident AP@0.5 %v, want 51/101", got)
	}
	if !near(r.MAP50, (3+51.0/101)/4) {
		t.Fatalf("mAP@0.5 %v", r.MAP50)
	}
}

// OpenCV 4.6's darknet importer zeroes class scores under 0.2 in the [yolo]
// output, so a darknet model's AP curves end at 0.2 whatever --min-conf
// says (docs/training.md). Cells of the pattern model filled to a fraction
// f score PatternConfidence(f): 0.25 for half a cell, 0.14 for 7/16.
func TestOpenCVDropsDarknetScoresUnderTwoTenths(t *testing.T) {
	n := patternNet(t, 0.001)
	img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(128, 128, 128, 0), 416, 416, gocv.MatTypeCV8UC3)
	defer img.Close()
	rows := []int{32, 16, 14, 8} // of 32: full, half, 7/16, a quarter
	for i, r := range rows {
		gocv.Rectangle(&img, image.Rect(i*64, 0, i*64+31, r-1), color.RGBA{R: 255, A: 255}, -1)
	}
	d, err := n.Detect([]gocv.Mat{img})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(darknet.PatternConfidence(14.0/32)-0.142) > 0.001 {
		t.Fatalf("PatternConfidence(7/16) = %v", darknet.PatternConfidence(14.0/32))
	}
	if len(d[0]) != 2 || math.Abs(float64(d[0][1].Confidence)-darknet.PatternConfidence(0.5)) > 0.01 {
		t.Fatalf("detections %+v, want the full and the half cell only", d[0])
	}
}

func TestRunRefusesASetWithoutObjects(t *testing.T) {
	dir := writeSet(t, patternset.Random(2, 3, 416, 416, 1), func(patternset.Object) []dataset.Box { return nil })
	ds, err := dataset.Read(dir, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), patternNet(t, 0.5), ds, Options{Threshold: 0.5}, time.Now); err == nil {
		t.Fatal("measured a set with nothing to find")
	}
}

func TestRunRefusesAnUnreadableImage(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "images", "broken.jpg"), []byte("not a jpeg"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := patternset.WriteLabels(dir, "broken", []dataset.Box{{Class: 0, CX: 0.5, CY: 0.5, W: 0.1, H: 0.1}}); err != nil {
		t.Fatal(err)
	}
	ds, err := dataset.Read(dir, 4)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), patternNet(t, 0.5), ds, Options{Threshold: 0.5}, time.Now); err == nil {
		t.Fatal("evaluated an unreadable image")
	}
}
