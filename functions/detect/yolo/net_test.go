package yolo

import (
	"image"
	"image/color"
	"math"
	"testing"

	"gocv.io/x/gocv"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
)

// patternNet generates the pattern model and loads it.
func patternNet(t testing.TB) *Net {
	t.Helper()
	g, err := darknet.Generate(darknet.KindPattern, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := darknet.Check(g.Files)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Load(m, Options{Confidence: 0.5, NMS: 0.45, Backend: BackendCPU})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	return n
}

// square returns a w×h black BGR image with a filled square of an RGB colour.
func square(w, h int, r image.Rectangle, rgb [3]uint8) gocv.Mat {
	img := gocv.NewMatWithSizeFromScalar(gocv.NewScalar(0, 0, 0, 0), h, w, gocv.MatTypeCV8UC3)
	gocv.Rectangle(&img, r, color.RGBA{R: rgb[0], G: rgb[1], B: rgb[2], A: 255}, -1)
	return img
}

func TestPatternModelFindsColouredSquare(t *testing.T) {
	n := patternNet(t)
	cases := []struct {
		name  string
		size  image.Point
		box   image.Rectangle
		class int
	}{
		{"red cell at network scale", image.Pt(416, 416), image.Rect(96, 32, 128, 64), 1},
		{"blue cell in a half-size crop", image.Pt(208, 208), image.Rect(48, 16, 64, 32), 3},
		{"yellow in a wide crop", image.Pt(832, 416), image.Rect(64, 320, 128, 352), 0},
		{"green", image.Pt(416, 416), image.Rect(384, 384, 416, 416), 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := square(c.size.X, c.size.Y, c.box.Sub(image.Pt(0, 0)).Inset(0), darknet.PatternColor(c.class))
			defer img.Close()
			got, err := n.Detect([]gocv.Mat{img})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || len(got[0]) != 1 {
				t.Fatalf("want one detection, got %+v", got)
			}
			d := got[0][0]
			want := darknet.PatternConfidence(1)
			if d.Class != c.class || d.Label != darknet.IncidentLabels()[c.class] || d.Box != c.box || math.Abs(float64(d.Confidence)-want) > 0.01 {
				t.Fatalf("got %+v, want class %d box %v confidence %.3f", d, c.class, c.box, want)
			}
		})
	}
}

func TestBatchOfImagesGivesEachItsOwnDetections(t *testing.T) {
	n := patternNet(t)
	var imgs []gocv.Mat
	for k := 0; k < 4; k++ {
		imgs = append(imgs, square(416, 416, image.Rect(32*k, 64, 32*k+32, 96), darknet.PatternColor(k)))
	}
	defer closeAll(imgs)
	got, err := n.Detect(imgs)
	if err != nil {
		t.Fatal(err)
	}
	for k := range imgs {
		if len(got[k]) != 1 || got[k][0].Class != k || got[k][0].Box != image.Rect(32*k, 64, 32*k+32, 96) {
			t.Errorf("image %d: %+v", k, got[k])
		}
	}
}

func TestBlackImageFindsNothing(t *testing.T) {
	n := patternNet(t)
	img := gocv.NewMatWithSize(300, 200, gocv.MatTypeCV8UC3)
	defer img.Close()
	got, err := n.Detect([]gocv.Mat{img})
	if err != nil {
		t.Fatal(err)
	}
	if len(got[0]) != 0 {
		t.Fatalf("got %+v", got[0])
	}
}
