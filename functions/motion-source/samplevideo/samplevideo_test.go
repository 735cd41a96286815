package samplevideo_test

import (
	"image"
	"image/color"
	"path/filepath"
	"testing"

	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
	"gocv.io/x/gocv"
)

func TestWriteReadsBack(t *testing.T) {
	scene := samplevideo.Scene{Width: 160, Height: 120, Frames: 12, Object: true, ObjectStart: 2}
	path := filepath.Join(t.TempDir(), "c.avi")
	if err := samplevideo.Write(path, scene); err != nil {
		t.Fatal(err)
	}
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	n := 0
	for vc.Read(&frame) {
		if frame.Cols() != 160 || frame.Rows() != 120 {
			t.Fatalf("frame %d is %dx%d", n, frame.Cols(), frame.Rows())
		}
		if box, ok := scene.ObjectBox(n); ok {
			// The object's centre is dark red on a grey scene.
			c := box.Min.Add(box.Max).Div(2)
			v := frame.GetVecbAt(c.Y, c.X)
			if v[2] < 150 || v[1] > 100 {
				t.Errorf("frame %d: no object at %v (BGR %v)", n, c, v)
			}
		}
		n++
	}
	if n != 12 {
		t.Fatalf("read %d frames, want 12", n)
	}
	if _, ok := scene.ObjectBox(1); ok {
		t.Error("object visible before ObjectStart")
	}
	a, _ := scene.ObjectBox(2)
	b, _ := scene.ObjectBox(11)
	if b.Min.X <= a.Min.X {
		t.Error("object does not move right")
	}
}

func TestTruncate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.avi")
	if err := samplevideo.Write(path, samplevideo.Scene{Frames: 4}); err != nil {
		t.Fatal(err)
	}
	if err := samplevideo.Truncate(path, 1.5); err == nil {
		t.Error("fraction 1.5 accepted")
	}
	if err := samplevideo.Truncate(path, 0.5); err != nil {
		t.Fatal(err)
	}
}

func TestWriteRejectsUnknownCodec(t *testing.T) {
	if err := samplevideo.Write(filepath.Join(t.TempDir(), "c.avi"), samplevideo.Scene{Frames: 2, Codec: "ZZZZ"}); err == nil {
		t.Fatal("wrote with a codec that does not exist")
	}
}

func TestObjectColor(t *testing.T) {
	scene := samplevideo.Scene{Width: 320, Height: 180, Frames: 3, Object: true, ObjectSize: 60, ObjectColor: color.RGBA{B: 255, A: 255}}
	r := samplevideo.NewRenderer(scene)
	defer r.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	r.Render(1, &frame)
	box, _ := scene.ObjectBox(1)
	for _, p := range []image.Point{box.Min.Add(image.Pt(2, 2)), box.Min.Add(box.Max).Div(2), box.Max.Sub(image.Pt(3, 3))} {
		if v := frame.GetVecbAt(p.Y, p.X); v[0] != 255 || v[1] != 0 || v[2] != 0 {
			t.Errorf("pixel %v is BGR %v, want pure blue", p, v)
		}
	}
}

func TestNoiseChangesEveryFrame(t *testing.T) {
	r := samplevideo.NewRenderer(samplevideo.Scene{Width: 160, Height: 120, Noise: 8})
	defer r.Close()
	a, b, diff := gocv.NewMat(), gocv.NewMat(), gocv.NewMat()
	defer a.Close()
	defer b.Close()
	defer diff.Close()
	r.Render(0, &a)
	r.Render(0, &b)
	gocv.AbsDiff(a, b, &diff)
	mean := diff.Mean()
	// |N(0,σ) − N(0,σ)| has mean 2σ/√π ≈ 9 for σ = 8.
	if mean.Val1 < 5 || mean.Val1 > 13 {
		t.Fatalf("mean difference between two noisy renders %v, want about 9", mean.Val1)
	}
}
