package evaluate

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestAPOnHandComputedCurves(t *testing.T) {
	T, F := true, false
	for _, c := range []struct {
		name    string
		hits    []bool
		objects int
		want    float64
	}{
		{"every detection right, every object found", []bool{T, T, T}, 3, 1},
		{"half the objects never detected", []bool{T, T}, 4, 51.0 / 101}, // recall 0.5: levels 0…0.50 have precision 1
		{"a false alarm ranked first", []bool{F, T}, 1, 0.5},             // precision 0.5 at every level
		{"nothing detected", nil, 2, 0},
		{"only false alarms", []bool{F, F}, 2, 0},
		// precision 1, .5, .67, .5, .4 at recall 1/3, 1/3, 2/3, 2/3, 2/3: envelope 1 on levels 0–0.33 (34),
		// 2/3 on 0.34–0.66 (33), 0 above.
		{"T F T F F of 3", []bool{T, F, T, F, F}, 3, (34 + 33*2.0/3) / 101},
		// recall .2 .2 .2 .4 .6 .6 .8, precision 1 .5 .33 .5 .6 .5 .571: envelope 1 (21 levels to 0.20),
		// .6 (0.21–0.40), .6 (0.41–0.60), 4/7 (0.61–0.80), 0 (0.81–1).
		{"T F F T T F T of 5", []bool{T, F, F, T, T, F, T}, 5, (21 + 20*0.6 + 20*0.6 + 20*4.0/7) / 101},
	} {
		if got := AP(c.hits, c.objects); !near(got, c.want) {
			t.Errorf("%s: AP %.6f, want %.6f", c.name, got, c.want)
		}
	}
}

func TestIoU(t *testing.T) {
	a := Rect{0, 0, 10, 10}
	for _, c := range []struct {
		b    Rect
		want float64
	}{
		{Rect{0, 0, 10, 10}, 1},
		{Rect{5, 0, 15, 10}, 50.0 / 150},
		{Rect{10, 0, 20, 10}, 0},
		{Rect{0, 0, 5, 5}, 25.0 / 100},
		{Rect{3, 3, 3, 8}, 0},
	} {
		if got := IoU(a, c.b); !near(got, c.want) {
			t.Errorf("IoU(%v, %v) = %v, want %v", a, c.b, got, c.want)
		}
	}
}

func TestMatchingCountsADuplicateAsAFalseAlarm(t *testing.T) {
	obj := []Rect{{0, 0, 10, 10}}
	got := matchClass([]Pred{{Score: 0.6, Box: Rect{0, 0, 10, 10}}, {Score: 0.9, Box: Rect{0, 0, 10, 9}}}, obj, 0.5)
	// The more confident detection takes the object, the other is a false alarm.
	if len(got) != 2 || !got[0].hit || got[0].score != 0.9 || got[1].hit {
		t.Fatalf("%+v", got)
	}
	// IoU 0.9 matches at 0.5 but not at 0.95.
	if got := matchClass([]Pred{{Score: 0.9, Box: Rect{0, 0, 10, 9}}}, obj, 0.95); got[0].hit {
		t.Fatal("matched below the IoU threshold")
	}
}

// A hand-worked two-class image: a fire object A and a knife object B;
// knife is detected on A (0.9) and on B (0.8), fire on an empty place (0.7)
// and, under the operating threshold, on A (0.3).
func TestComputeOnAHandWorkedImage(t *testing.T) {
	a, b, empty := Rect{0, 0, 10, 10}, Rect{20, 20, 30, 30}, Rect{50, 50, 60, 60}
	img := Image{
		Truth: []Truth{{Class: 0, Box: a}, {Class: 1, Box: b}},
		Preds: []Pred{{Class: 1, Score: 0.9, Box: a}, {Class: 1, Score: 0.8, Box: b}, {Class: 0, Score: 0.7, Box: empty}, {Class: 0, Score: 0.3, Box: a}},
	}
	labels := []string{"fire", "knife"}
	r := Compute([]Image{img}, labels, Options{Threshold: 0.5, Incident: labels, IncidentClasses: []string{"fire", "knife"}})
	fire, knife := r.Classes[0], r.Classes[1]
	// fire: ranked F (0.7) then T (0.3): AP 0.5; at 0.5 one detection, a false alarm.
	if fire.Objects != 1 || fire.Detections != 1 || fire.Precision != 0 || fire.Recall != 0 || !near(*fire.AP50, 0.5) {
		t.Errorf("fire %+v", fire)
	}
	// knife: ranked F (0.9 on A) then T (0.8 on B): AP 0.5, precision 1/2, recall 1.
	if knife.Objects != 1 || knife.Detections != 2 || knife.Precision != 0.5 || knife.Recall != 1 || !near(*knife.AP50, 0.5) {
		t.Errorf("knife %+v", knife)
	}
	// Exact boxes: the same at every IoU threshold.
	if !near(r.MAP50, 0.5) || !near(r.MAP5095, 0.5) {
		t.Errorf("mAP %v %v", r.MAP50, r.MAP5095)
	}
	// Rows labelled, columns detected: fire object seen as knife, knife as knife, a fire false alarm.
	want := [][]int{{0, 1, 0}, {0, 1, 0}, {1, 0, 0}}
	for i := range want {
		for j := range want[i] {
			if r.Confusion.Counts[i][j] != want[i][j] {
				t.Fatalf("confusion %v, want %v", r.Confusion.Counts, want)
			}
		}
	}
	var out bytes.Buffer
	if err := r.WriteTable(&out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if lines[len(lines)-1] != "mAP@0.5 = 0.5000" {
		t.Fatalf("last line %q", lines[len(lines)-1])
	}
}

func TestComputeLeavesClassesWithoutObjectsOutOfTheMean(t *testing.T) {
	img := Image{Truth: []Truth{{Class: 0, Box: Rect{0, 0, 10, 10}}}, Preds: []Pred{{Class: 0, Score: 0.9, Box: Rect{0, 0, 10, 10}}, {Class: 2, Score: 0.9, Box: Rect{20, 20, 30, 30}}}}
	r := Compute([]Image{img}, []string{"a", "b", "c"}, Options{Threshold: 0.5})
	// b has neither objects nor detections: not listed; c has a detection but no object: listed, no AP.
	if len(r.Classes) != 2 || r.Classes[1].Label != "c" || r.Classes[1].AP50 != nil || r.MAP50 != 1 {
		t.Fatalf("%+v mAP %v", r.Classes, r.MAP50)
	}
	if len(r.Confusion.Classes) != 1 || r.Confusion.Counts[0][0] != 0 {
		t.Fatalf("no class map, yet confusion %+v", r.Confusion)
	}
}
