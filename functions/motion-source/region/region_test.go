package region_test

import (
	"image"
	"image/color"
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
			rs := region.Regions(c.boxes, c.frame, region.Config{MinSize: 320})
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
		boxes = append(boxes, image.Rect(i*500, 0, i*500+20+i*10, 20+i*10))
	}
	boxes = append(boxes, image.Rect(0, 700, 600, 1000))
	rs := region.Regions(boxes, image.Pt(2600, 1080), region.Config{MinSize: 320, MaxRegions: 2})
	if len(rs) != 2 || rs[0].Dx() < 600 {
		t.Fatalf("got %v, want the 600-px region first of 2", rs)
	}
}

func TestEncode(t *testing.T) {
	frame := gocv.NewMatWithSize(480, 640, gocv.MatTypeCV8UC3)
	defer frame.Close()
	enc := region.NewEncoder(region.Config{Quality: 80})
	defer enc.Close()
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

func TestPlanFrame(t *testing.T) {
	sd, hd := image.Pt(720, 576), image.Pt(1920, 1080)
	walker := func(x, y int) image.Rectangle { return image.Rect(x, y, x+50, y+120) }
	cases := []struct {
		name   string
		boxes  []image.Rectangle
		frame  image.Point
		full   bool
		crops  int
		config region.Config
	}{
		{"nothing", nil, hd, false, 0, region.Config{}},
		{"one walker is a crop", []image.Rectangle{walker(100, 100)}, hd, false, 1, region.Config{}},
		{"two far walkers are two crops", []image.Rectangle{walker(100, 100), walker(1500, 700)}, hd, false, 2, region.Config{}},
		{"walkers all over an SD frame send it whole", []image.Rectangle{walker(20, 20), walker(600, 20), walker(20, 400), walker(600, 400)}, sd, true, 0, region.Config{}},
		{"more regions than allowed send the frame whole", []image.Rectangle{walker(0, 0), walker(600, 0), walker(1200, 0), walker(0, 600), walker(600, 600)}, hd, true, 0, region.Config{}},
		{"three corners cover most of an SD frame", []image.Rectangle{walker(20, 20), walker(650, 20), walker(20, 430)}, sd, true, 0, region.Config{MinSize: 280}},
		{"coverage never sends whole frames at 1", []image.Rectangle{walker(20, 20), walker(650, 20), walker(20, 430)}, sd, false, 3, region.Config{MinSize: 280, FullFrameAbove: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := region.PlanFrame(c.boxes, c.frame, c.config)
			if p.Full != c.full || len(p.Regions) != c.crops {
				t.Fatalf("plan %+v, want full=%v with %d crops", p, c.full, c.crops)
			}
			if p.Empty() != (len(c.boxes) == 0) {
				t.Fatalf("Empty() = %v for %d boxes", p.Empty(), len(c.boxes))
			}
		})
	}
}

func TestEncodeScalesDownToTheInput(t *testing.T) {
	frame := gocv.NewMatWithSize(1080, 1920, gocv.MatTypeCV8UC3)
	defer frame.Close()
	enc := region.NewEncoder(region.Config{MinSize: 416})
	defer enc.Close()
	for _, c := range []struct {
		r    image.Rectangle
		want image.Point
	}{
		{image.Rect(0, 0, 416, 416), image.Pt(416, 416)},
		{image.Rect(100, 100, 900, 900), image.Pt(416, 416)},
		{image.Rect(0, 0, 1000, 500), image.Pt(416, 208)},
		{image.Rect(0, 0, 300, 300), image.Pt(300, 300)},
	} {
		jpeg, err := enc.Encode(frame, c.r)
		if err != nil {
			t.Fatal(err)
		}
		img, err := gocv.IMDecode(jpeg, gocv.IMReadColor)
		if err != nil {
			t.Fatal(err)
		}
		if got := image.Pt(img.Cols(), img.Rows()); got != c.want {
			t.Errorf("region %v encoded as %v, want %v", c.r, got, c.want)
		}
		img.Close()
	}
}

// TestEncodeFullMapsBackExactly letterboxes frames with a white marker at a
// known place and finds the marker again through the event's region, as
// detect maps its boxes: image pixel × regionw / image width.
func TestEncodeFullMapsBackExactly(t *testing.T) {
	for _, size := range []image.Point{{1920, 1080}, {720, 576}, {576, 720}, {300, 200}} {
		marker := image.Rect(size.X*3/5, size.Y*2/3, size.X*3/5+size.X/10, size.Y*2/3+size.Y/10)
		frame := gocv.NewMatWithSize(size.Y, size.X, gocv.MatTypeCV8UC3)
		gocv.Rectangle(&frame, marker, color.RGBA{R: 255, G: 255, B: 255}, -1)
		enc := region.NewEncoder(region.Config{MinSize: 416})
		jpeg, r, err := enc.EncodeFull(frame)
		frame.Close()
		enc.Close()
		if err != nil {
			t.Fatal(err)
		}
		side := max(size.X, size.Y)
		if r != image.Rect(0, 0, side, side) {
			t.Fatalf("%v: region %v, want the %d-px square at the origin", size, r, side)
		}
		img, err := gocv.IMDecode(jpeg, gocv.IMReadGrayScale)
		if err != nil {
			t.Fatal(err)
		}
		out := min(side, 416)
		if img.Cols() != out || img.Rows() != out {
			t.Fatalf("%v: image %dx%d, want %dx%d", size, img.Cols(), img.Rows(), out, out)
		}
		// The marker's bounding box in the image, mapped back.
		found := image.Rectangle{}
		for y := 0; y < img.Rows(); y++ {
			for x := 0; x < img.Cols(); x++ {
				if img.GetUCharAt(y, x) > 200 {
					found = found.Union(image.Rect(x, y, x+1, y+1))
				}
			}
		}
		img.Close()
		s := float64(r.Dx()) / float64(out)
		back := image.Rect(int(float64(found.Min.X)*s+0.5), int(float64(found.Min.Y)*s+0.5),
			int(float64(found.Max.X)*s+0.5), int(float64(found.Max.Y)*s+0.5))
		tol := int(s) + 2 // one image pixel, and JPEG's edge blur
		if d := maxDelta(back, marker); d > tol {
			t.Errorf("%v: marker %v came back as %v (off by %d px, tolerance %d)", size, marker, back, d, tol)
		}
	}
}

func maxDelta(a, b image.Rectangle) int {
	abs := func(v int) int { return max(v, -v) }
	return max(abs(a.Min.X-b.Min.X), abs(a.Min.Y-b.Min.Y), abs(a.Max.X-b.Max.X), abs(a.Max.Y-b.Max.Y))
}
