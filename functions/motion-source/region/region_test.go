package region_test

import (
	"image"
	"testing"

	"github.com/edgewatch/edgewatch/functions/motion-source/region"
	"gocv.io/x/gocv"
)

func TestRegions(t *testing.T) {
	hd := image.Pt(1920, 1080)
	cases := []struct {
		name  string
		boxes []image.Rectangle
		frame image.Point
		want  int
	}{
		{"small box grows to the model input", []image.Rectangle{image.Rect(100, 100, 140, 180)}, hd, 1},
		{"box at the corner stays inside", []image.Rectangle{image.Rect(1900, 1060, 1920, 1080)}, hd, 1},
		{"near boxes cluster", []image.Rectangle{image.Rect(500, 500, 560, 560), image.Rect(570, 500, 620, 560)}, hd, 1},
		{"far boxes stay apart", []image.Rectangle{image.Rect(10, 10, 60, 60), image.Rect(1500, 900, 1550, 950)}, hd, 2},
		{"large box keeps its size", []image.Rectangle{image.Rect(200, 100, 900, 500)}, hd, 1},
		{"frame smaller than the input", []image.Rectangle{image.Rect(50, 50, 80, 80)}, image.Pt(320, 240), 1},
		{"no boxes", nil, hd, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rs := region.Regions(c.boxes, c.frame, region.Config{})
			if len(rs) != c.want {
				t.Fatalf("got %d regions %v, want %d", len(rs), rs, c.want)
			}
			frame := image.Rectangle{Max: c.frame}
			for _, r := range rs {
				if !r.In(frame) {
					t.Errorf("region %v leaves the frame %v", r, frame)
				}
				if r.Dx() < min(320, c.frame.X) || r.Dy() < min(320, c.frame.Y) {
					t.Errorf("region %v smaller than the model input", r)
				}
			}
			for _, b := range c.boxes {
				covered := false
				for _, r := range rs {
					covered = covered || b.In(r)
				}
				if !covered {
					t.Errorf("box %v in no region of %v", b, rs)
				}
			}
		})
	}
}

func TestMaxRegionsKeepsTheLargest(t *testing.T) {
	var boxes []image.Rectangle
	for i := 0; i < 5; i++ {
		boxes = append(boxes, image.Rect(i*400, 0, i*400+20+i*10, 20+i*10))
	}
	boxes = append(boxes, image.Rect(0, 600, 700, 1000))
	rs := region.Regions(boxes, image.Pt(2400, 1080), region.Config{MaxRegions: 2})
	if len(rs) != 2 || rs[0].Dx() < 700 {
		t.Fatalf("got %v, want the 700-px region first of 2", rs)
	}
}

func TestEncode(t *testing.T) {
	frame := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	defer frame.Close()
	enc := region.NewEncoder(region.Config{Quality: 80})
	jpeg, err := enc.Encode(frame, image.Rect(100, 50, 420, 370))
	if err != nil {
		t.Fatal(err)
	}
	img, err := gocv.IMDecode(jpeg, gocv.IMReadColor)
	if err != nil {
		t.Fatal(err)
	}
	defer img.Close()
	if img.Cols() != 320 || img.Rows() != 320 {
		t.Fatalf("decoded %dx%d, want 320x320", img.Cols(), img.Rows())
	}
	if _, err := enc.Encode(frame, image.Rect(600, 0, 700, 100)); err == nil {
		t.Fatal("a region outside the frame was encoded")
	}
}
