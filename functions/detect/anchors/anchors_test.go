package anchors

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestIoUOfCentredBoxes(t *testing.T) {
	if got := IoU(Size{10, 10}, Size{10, 10}); got != 1 {
		t.Fatal(got)
	}
	if got := IoU(Size{10, 20}, Size{20, 10}); math.Abs(got-100.0/300) > 1e-12 {
		t.Fatal(got)
	}
	if got := IoU(Size{4, 4}, Size{8, 8}); got != 0.25 {
		t.Fatal(got)
	}
}

// clusters draws boxes around three known sizes.
func clusters(seed uint64) []Size {
	rng := rand.New(rand.NewPCG(seed, 0))
	var out []Size
	for _, c := range []Size{{100, 200}, {12, 10}, {60, 25}} {
		for i := 0; i < 50; i++ {
			out = append(out, Size{c.W * (0.9 + 0.2*rng.Float64()), c.H * (0.9 + 0.2*rng.Float64())})
		}
	}
	return out
}

func TestKMeansFindsTheClustersSortedByArea(t *testing.T) {
	boxes := clusters(1)
	got, err := KMeans(boxes, 3, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := []Size{{12, 10}, {60, 25}, {100, 200}}
	for i := range want {
		if IoU(got[i], want[i]) < 0.95 {
			t.Fatalf("anchors %v, want near %v", got, want)
		}
	}
	again, _ := KMeans(boxes, 3, 5)
	for i := range got {
		if got[i] != again[i] {
			t.Fatal("same boxes and seed, different anchors")
		}
	}
	if m, _ := MeanIoU(boxes, got); m < 0.85 {
		t.Fatalf("mean IoU %v", m)
	}
	// More anchors than clusters still fit at least as well, and stay sorted.
	six, err := KMeans(boxes, 6, 5)
	if err != nil {
		t.Fatal(err)
	}
	m3, _ := MeanIoU(boxes, got)
	m6, _ := MeanIoU(boxes, six)
	if m6 < m3 {
		t.Fatalf("6 anchors fit worse (%v) than 3 (%v)", m6, m3)
	}
	for i := 1; i < len(six); i++ {
		if six[i].Area() < six[i-1].Area() {
			t.Fatalf("not sorted by area: %v", six)
		}
	}
}

func TestKMeansRefusesTooFewBoxes(t *testing.T) {
	if _, err := KMeans([]Size{{1, 1}, {1, 1}, {2, 2}}, 3, 1); err == nil {
		t.Fatal("3 anchors from 2 distinct sizes")
	}
	if _, err := KMeans([]Size{{0, 1}, {2, 2}}, 1, 1); err == nil {
		t.Fatal("empty box accepted")
	}
}
