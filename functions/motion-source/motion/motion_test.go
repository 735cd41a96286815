package motion_test

import (
	"image"
	"image/color"
	"path/filepath"
	"testing"

	"github.com/edgewatch/edgewatch/functions/motion-source/motion"
	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
	"gocv.io/x/gocv"
)

// analyse writes the scene to a real MJPG AVI, decodes it and runs the gate
// on every 5th frame (5 analysed fps of a 25 fps clip). It returns the gate's
// results by frame index.
func analyse(t *testing.T, scene samplevideo.Scene, cfg motion.Config) map[int]motion.Result {
	t.Helper()
	path := filepath.Join(t.TempDir(), "clip.avi")
	if err := samplevideo.Write(path, scene); err != nil {
		t.Fatal(err)
	}
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	g, err := motion.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	out := map[int]motion.Result{}
	for i := 0; vc.Read(&frame); i++ {
		if i%5 == 0 {
			out[i] = g.Detect(frame)
		}
	}
	if len(out) == 0 {
		t.Fatal("no frames decoded")
	}
	return out
}

func TestMovingObjectIsBoxed(t *testing.T) {
	scene := samplevideo.Scene{Object: true, ObjectStart: 10, Frames: 60}
	res := analyse(t, scene, motion.Config{})
	hits := 0
	for i, r := range res {
		obj, visible := scene.ObjectBox(i)
		if !visible || i < 15 {
			continue
		}
		var union image.Rectangle
		for _, b := range r.Boxes {
			union = union.Union(b)
		}
		if len(r.Boxes) == 0 {
			t.Errorf("frame %d: no motion while the object is at %v", i, obj)
			continue
		}
		if !obj.Inset(2).In(union) {
			t.Errorf("frame %d: boxes %v do not cover the object at %v", i, r.Boxes, obj)
			continue
		}
		hits++
	}
	if hits < 5 {
		t.Fatalf("object covered in %d analysed frames, want ≥ 5", hits)
	}
}

func TestStaticSceneIsQuiet(t *testing.T) {
	for i, r := range analyse(t, samplevideo.Scene{Frames: 60}, motion.Config{}) {
		if len(r.Boxes) > 0 {
			t.Errorf("frame %d: motion %v in a static scene", i, r.Boxes)
		}
	}
}

func TestLightingChangeRecalibrates(t *testing.T) {
	res := analyse(t, samplevideo.Scene{Frames: 80, LightStepAt: 30}, motion.Config{})
	recal := 0
	for i, r := range res {
		if len(r.Boxes) > 0 {
			t.Errorf("frame %d: motion %v after a change of lighting", i, r.Boxes)
		}
		if r.Recalibrated {
			recal++
		}
	}
	t.Logf("recalibrations %d", recal)
	if recal == 0 {
		t.Fatal("the lighting change was not seen")
	}
	if last := res[75]; last.Calibrating {
		t.Fatal("still calibrating long after the change")
	}
}

func TestMaskedMotionIsIgnored(t *testing.T) {
	scene := samplevideo.Scene{Object: true, ObjectStart: 10, Frames: 60}
	band := motion.Polygon{{0, 0.3}, {1, 0.3}, {1, 0.7}, {0, 0.7}} // the object's row
	for i, r := range analyse(t, scene, motion.Config{Masks: []motion.Polygon{band}}) {
		if len(r.Boxes) > 0 {
			t.Errorf("frame %d: motion %v inside the mask", i, r.Boxes)
		}
	}
	// The same clip with the mask elsewhere still sees the object.
	top := motion.Polygon{{0, 0}, {1, 0}, {1, 0.1}, {0, 0.1}}
	seen := false
	for _, r := range analyse(t, scene, motion.Config{Masks: []motion.Polygon{top}}) {
		seen = seen || len(r.Boxes) > 0
	}
	if !seen {
		t.Fatal("a mask away from the object hid it")
	}
}

func TestConfigValidation(t *testing.T) {
	bad := []motion.Config{
		{Threshold: -1},
		{Alpha: 2},
		{Masks: []motion.Polygon{{{0, 0}, {1, 1}}}},
		{Masks: []motion.Polygon{{{0, 0}, {2, 0}, {1, 1}}}},
	}
	for i, c := range bad {
		if _, err := motion.New(c); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
}

func TestSensorNoiseIsNotMotion(t *testing.T) {
	res := analyse(t, samplevideo.Scene{Frames: 100, Noise: 8}, motion.Config{})
	for i, r := range res {
		if len(r.Boxes) > 0 {
			t.Errorf("frame %d: motion %v in a static scene with sensor noise", i, r.Boxes)
		}
	}
}

func TestMovingObjectInNoiseIsBoxed(t *testing.T) {
	scene := samplevideo.Scene{Object: true, ObjectStart: 10, Frames: 60, Noise: 8}
	hits := 0
	for i, r := range analyse(t, scene, motion.Config{}) {
		obj, visible := scene.ObjectBox(i)
		if !visible || i < 15 {
			continue
		}
		for _, b := range r.Boxes {
			if obj.Inset(2).In(b) {
				hits++
				break
			}
		}
	}
	if hits < 5 {
		t.Fatalf("object boxed in %d noisy analysed frames, want ≥ 5", hits)
	}
}

// ghostSeconds runs the gate at 5 analysed fps over a scene in which a dark
// figure stands in the first frame (so the background learns it) and is gone
// from the second on, and returns how long motion is reported where it stood.
func ghostSeconds(t *testing.T, cfg motion.Config) float64 {
	t.Helper()
	const fps = 5
	bg := samplevideo.Background(640, 360)
	defer bg.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	spot := image.Rect(300, 150, 340, 250)
	g, err := motion.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	last := -1
	for i := 0; i < 30*fps; i++ {
		bg.CopyTo(&frame)
		if i == 0 {
			gocv.Rectangle(&frame, spot, color.RGBA{R: 30, G: 25, B: 20}, -1)
		}
		for _, b := range g.Detect(frame).Boxes {
			if b.Overlaps(spot) {
				last = i
			}
		}
	}
	return float64(last+1) / fps
}

func TestGhostsFadeQuickly(t *testing.T) {
	if s := ghostSeconds(t, motion.Config{StillFrames: 8}); s > 3 {
		t.Fatalf("the ghost of a figure that left lasted %.1f s, want ≤ 3 s", s)
	}
	// Without learning still areas, the running average keeps the ghost:
	// the check above can fail.
	if s := ghostSeconds(t, motion.Config{StillFrames: -1}); s <= 3 {
		t.Fatalf("control: without still learning the ghost lasted only %.1f s", s)
	}
}

func TestAMovingObjectIsNotLearnt(t *testing.T) {
	// An object crossing steadily is reported in every analysed frame,
	// however long it takes: still learning takes only what stopped.
	scene := samplevideo.Scene{Object: true, ObjectStart: 10, Frames: 250, Noise: 3}
	res := analyse(t, scene, motion.Config{StillFrames: 4})
	missed := 0
	for i, r := range res {
		if _, visible := scene.ObjectBox(i); visible && i >= 20 && len(r.Boxes) == 0 {
			missed++
		}
	}
	if missed > 0 {
		t.Fatalf("the moving object was missed in %d analysed frames", missed)
	}
}

func TestEdgesSayHowFarMotionReachesIn(t *testing.T) {
	bg := samplevideo.Background(640, 360)
	defer bg.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	g, err := motion.New(motion.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	var res motion.Result
	for i := 0; i < 12; i++ {
		bg.CopyTo(&frame)
		if i >= 10 { // someone 60 px into view at the left edge
			gocv.Rectangle(&frame, image.Rect(0, 120, 60, 240), color.RGBA{R: 20, G: 20, B: 30}, -1)
		}
		res = g.Detect(frame)
	}
	left := res.Edges[motion.Left]
	if left.Edge != motion.Left || len(left.Depth) != 100 {
		t.Fatalf("left edge %+v, want 100 positions", left)
	}
	deep := 0
	for i, d := range left.Depth {
		y := float64(i) * left.Step
		switch {
		case y > 140 && y < 220 && (d < 45 || d > 90):
			t.Errorf("at y=%.0f motion reaches %d px in, want about 60", y, d)
		case (y < 100 || y > 260) && d != 0:
			t.Errorf("at y=%.0f motion reaches %d px in, want none", y, d)
		}
		if d > 0 {
			deep++
		}
	}
	if deep == 0 || len(res.Edges[motion.Right].Depth) == 0 {
		t.Fatal("no depth profile")
	}
	for _, d := range res.Edges[motion.Right].Depth {
		if d != 0 {
			t.Fatalf("motion at the right edge of a frame with none there: %v", res.Edges[motion.Right].Depth)
		}
	}
}

func TestACrowdedSceneEndsCalibration(t *testing.T) {
	// Twelve figures crossing all the time: never under 5 % changed.
	bg := samplevideo.Background(640, 360)
	defer bg.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	g, err := motion.New(motion.Config{CalibrationFrames: 15})
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	first := -1
	for i := 0; i < 40 && first < 0; i++ {
		bg.CopyTo(&frame)
		for k := 0; k < 12; k++ {
			x := (k*53 + i*9) % 600
			y := 20 + (k%4)*85
			gocv.Rectangle(&frame, image.Rect(x, y, x+30, y+70), color.RGBA{R: 25, G: 20, B: uint8(10 * k)}, -1)
		}
		if r := g.Detect(frame); len(r.Boxes) > 0 {
			first = i
		} else if r.Changed < 0.05 && i > 0 {
			t.Fatalf("frame %d: only %.1f %% changed; the scene is not crowded enough to test this", i, 100*r.Changed)
		}
	}
	if first < 0 || first > 16 {
		t.Fatalf("first motion reported at frame %d, want by frame 16 (calibration capped at 15)", first)
	}
}
