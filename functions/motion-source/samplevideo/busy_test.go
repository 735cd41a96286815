package samplevideo_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
	"gocv.io/x/gocv"
)

// sdFrame is the frame of an SD busy scene.
func sdFrame() image.Rectangle { return image.Rect(0, 0, 720, 576) }

func TestBusyTruthIsABusyScene(t *testing.T) {
	b := samplevideo.Busy{Seed: 1, Stander: true}
	tr := b.Truth()
	if len(tr.Frames) != 625 || tr.FPS != 25 || tr.Size != image.Pt(720, 576) {
		t.Fatalf("default clip: %d frames at %v fps, %v", len(tr.Frames), tr.FPS, tr.Size)
	}
	busy := 0
	for _, ws := range tr.Frames {
		if len(ws) >= 6 {
			busy++
		}
	}
	if busy < len(tr.Frames)*85/100 {
		t.Errorf("six or more people in view in %d of %d frames", busy, len(tr.Frames))
	}
	checkSizes(t, tr, 1)

	tracks := tracksOf(tr)
	if len(tracks) < 20 {
		t.Errorf("%d people in 25 s, want at least 20", len(tracks))
	}
	directions := map[[2]bool]bool{}
	var entered, left, paused int
	var slow, fast bool
	vacated := map[int]bool{}
	for _, v := range tr.Vacated {
		vacated[v.ID] = true
	}
	for id, tk := range tracks {
		first, last := tk[0], tk[len(tk)-1]
		if first.frame > 0 {
			if !touchesEdge(first.w.Box, sdFrame()) {
				t.Errorf("person %d appears at %v, away from the edges", id, first.w.Box)
			}
			entered++
		}
		if last.frame < len(tr.Frames)-1 {
			if !touchesEdge(last.w.Box, sdFrame()) {
				t.Errorf("person %d disappears at %v, away from the edges", id, last.w.Box)
			}
			left++
		}
		a, z := center(first.w.Box), center(last.w.Box)
		if len(tk) > 25 {
			directions[[2]bool{z.X > a.X, z.Y > a.Y+40}] = true
		}
		if !vacated[id] && pausedFor(tk) >= 25 {
			paused++
		}
		if v, ok := medianSpeed(tk, tr.FPS); ok {
			if v < 55 || v > 125 {
				t.Errorf("person %d walks at %.0f px/s", id, v)
			}
			slow = slow || v < 80
			fast = fast || v > 100
		}
	}
	if entered < 15 || left < 15 {
		t.Errorf("%d people enter and %d leave", entered, left)
	}
	if len(directions) < 4 {
		t.Errorf("people walk in %d directions: %v", len(directions), directions)
	}
	if paused < 2 {
		t.Errorf("%d walkers stop for a second or more mid-way", paused)
	}
	if !slow || !fast {
		t.Errorf("speeds do not vary: slow %v, fast %v", slow, fast)
	}
	checkVacated(t, tr, tracks)
}

// checkVacated checks the two ghost spots: one person standing from the
// first frame who leaves after 3 s, one who stands about 10 s.
func checkVacated(t *testing.T, tr samplevideo.Truth, tracks map[int][]seen) {
	t.Helper()
	if len(tr.Vacated) != 2 {
		t.Fatalf("vacated spots: %v", tr.Vacated)
	}
	first, second := tr.Vacated[0], tr.Vacated[1]
	if tk := tracks[first.ID]; tk[0].frame != 0 || tk[0].w.Box != first.Spot || tk[0].w.Moving {
		t.Errorf("the first stander is not standing on %v in frame 0: %+v", first.Spot, tk[0])
	}
	if first.Left < 74 || first.Left > 78 {
		t.Errorf("the first stander leaves at frame %d, want about 3 s", first.Left)
	}
	for k, v := range tr.Vacated {
		standing := 0
		for _, s := range tracks[v.ID] {
			switch {
			case s.frame < v.Left && s.w.Box == v.Spot && !s.w.Moving:
				standing++
			case s.frame >= v.Left && (s.w.Box == v.Spot || !s.w.Moving):
				t.Errorf("person %d is still on %v at frame %d", v.ID, v.Spot, s.frame)
			}
		}
		if want := []int{75, 245}[k]; standing < want {
			t.Errorf("person %d stood %d frames on %v, want %d", v.ID, standing, v.Spot, want)
		}
	}
	if tk := tracks[second.ID]; tk[0].frame == 0 || !tk[0].w.Moving {
		t.Errorf("the second stander does not walk in: %+v", tk[0])
	}
}

func TestBusyTruthAt1080p(t *testing.T) {
	tr := samplevideo.Busy{Width: 1920, Height: 1080, Frames: 100, Seed: 2}.Truth()
	if tr.Size != image.Pt(1920, 1080) {
		t.Fatalf("size %v", tr.Size)
	}
	checkSizes(t, tr, 1080.0/576)
}

// checkSizes checks that every person wholly in view is person-sized:
// 40–70 × 90–140 px at SD, scaled by scale.
func checkSizes(t *testing.T, tr samplevideo.Truth, scale float64) {
	t.Helper()
	frame := image.Rectangle{Max: tr.Size}
	n := 0
	for i, ws := range tr.Frames {
		for _, w := range ws {
			if touchesEdge(w.Box, frame) {
				continue
			}
			n++
			dx, dy := float64(w.Box.Dx())/scale, float64(w.Box.Dy())/scale
			if dx < 39.5 || dx > 70.5 || dy < 89.5 || dy > 140.5 {
				t.Fatalf("frame %d: person %d is %d×%d", i, w.ID, w.Box.Dx(), w.Box.Dy())
			}
		}
	}
	if n == 0 {
		t.Fatal("nobody wholly in view")
	}
}

func TestBusyIsDeterministic(t *testing.T) {
	b := samplevideo.Busy{Frames: 50, Seed: 7, Stander: true}
	if !reflect.DeepEqual(b.Truth(), b.Truth()) {
		t.Error("the same seed gives two truths")
	}
	other := b
	other.Seed = 8
	if reflect.DeepEqual(b.Truth(), other.Truth()) {
		t.Error("another seed gives the same truth")
	}
	a1, a2, c := render(t, b, 30), render(t, b, 30), render(t, other, 30)
	if !reflect.DeepEqual(a1, a2) {
		t.Error("the same seed renders two different frames")
	}
	if reflect.DeepEqual(a1, c) {
		t.Error("another seed renders the same frame")
	}
}

func render(t *testing.T, b samplevideo.Busy, i int) []byte {
	t.Helper()
	r, err := samplevideo.NewBusyRenderer(b)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	m := gocv.NewMat()
	defer m.Close()
	r.Render(i, &m)
	return m.ToBytes()
}

// TestBusyFigureFillsItsBox checks the drawing against the truth, pixel for
// pixel at the edges of each box: without noise, the person changes the
// outermost rows and columns of their box and nothing just outside it
// (the shadow falls only below and to the left of the feet).
func TestBusyFigureFillsItsBox(t *testing.T) {
	b := samplevideo.Busy{Frames: 200, Seed: 3, Noise: -1, Stander: true}
	tr := b.Truth()
	r, err := samplevideo.NewBusyRenderer(b)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	bg := r.Background()
	defer bg.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	want, err := bg.DataPtrUint8()
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for i := 0; i < len(tr.Frames); i += 20 {
		r.Render(i, &frame)
		got, err := frame.DataPtrUint8()
		if err != nil {
			t.Fatal(err)
		}
		changed := func(x, y int) bool {
			o := (y*720 + x) * 3
			return !bytes.Equal(got[o:o+3], want[o:o+3])
		}
		for _, w := range tr.Frames[i] {
			box := w.Box
			if !box.Inset(-2).In(sdFrame()) || overlapsOthers(w, tr.Frames[i]) {
				continue
			}
			checked++
			foot := box.Max.Y - box.Dy()/10
			edges := map[string]bool{}
			for x := box.Min.X; x < box.Max.X; x++ {
				edges["top"] = edges["top"] || changed(x, box.Min.Y)
				edges["bottom"] = edges["bottom"] || changed(x, box.Max.Y-1)
				if changed(x, box.Min.Y-1) {
					t.Errorf("frame %d: person %d drawn above %v", i, w.ID, box)
				}
			}
			for y := box.Min.Y; y < box.Max.Y; y++ {
				edges["left"] = edges["left"] || changed(box.Min.X, y)
				edges["right"] = edges["right"] || changed(box.Max.X-1, y)
				if changed(box.Max.X, y) || (y < foot && changed(box.Min.X-1, y)) {
					t.Errorf("frame %d: person %d drawn beside %v at row %d", i, w.ID, box, y)
				}
			}
			if len(edges) != 4 || !edges["top"] || !edges["bottom"] || !edges["left"] || !edges["right"] {
				t.Errorf("frame %d: person %d does not reach every edge of %v: %v", i, w.ID, box, edges)
			}
		}
	}
	if checked < 10 {
		t.Fatalf("only %d people stood clear of others", checked)
	}
}

// overlapsOthers tells whether another person, or the shadow they cast
// below and to the left of their feet, comes near w.
func overlapsOthers(w samplevideo.Walker, all []samplevideo.Walker) bool {
	for _, o := range all {
		if o.ID == w.ID {
			continue
		}
		reach := o.Box
		reach.Min.X -= o.Box.Dy() * 6 / 10
		reach.Max.Y += o.Box.Dy() / 10
		if reach.Inset(-3).Overlaps(w.Box) {
			return true
		}
	}
	return false
}

func TestWriteBusyEncodesAClipThatDecodes(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	b := samplevideo.Busy{Frames: 100, Seed: 4, Stander: true}
	path := filepath.Join(t.TempDir(), "busy.mp4")
	tr, err := samplevideo.WriteBusy(path, b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tr, b.Truth()) {
		t.Error("WriteBusy's truth differs from Busy.Truth")
	}
	checkBitrate(t, path, 4, 1.5e6)

	r, err := samplevideo.NewBusyRenderer(b)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	bg := r.Background()
	defer bg.Close()
	bgGrey := gocv.NewMat()
	defer bgGrey.Close()
	gocv.CvtColor(bg, &bgGrey, gocv.ColorBGRToGray)

	people, clear := 0, 0
	leastPerson, mostEmpty := 1.0, 0.0
	n := decode(t, path, 720, 576, func(i int, grey gocv.Mat) {
		if i%2 != 0 {
			return
		}
		diff := gocv.NewMat()
		defer diff.Close()
		gocv.AbsDiff(grey, bgGrey, &diff)
		gocv.Threshold(diff, &diff, 30, 255, gocv.ThresholdBinary)
		// Each person stands out from the background...
		for _, w := range tr.Frames[i] {
			if touchesEdge(w.Box, sdFrame()) || overlapsOthers(w, tr.Frames[i]) {
				continue
			}
			people++
			f := changedFraction(diff, w.Box)
			leastPerson = min(leastPerson, f)
			if f < 0.25 {
				t.Errorf("frame %d: only %.0f%% of person %d's box %v differs from the background", i, 100*f, w.ID, w.Box)
			}
		}
		// ...and the rest of the frame, shadows aside, does not.
		mask := gocv.NewMatWithSize(576, 720, gocv.MatTypeCV8U)
		defer mask.Close()
		for _, w := range tr.Frames[i] {
			reach := w.Box
			reach.Min.X -= w.Box.Dy() * 6 / 10
			reach.Max.Y += w.Box.Dy() / 10
			gocv.Rectangle(&mask, reach.Inset(-4), color.RGBA{R: 255, G: 255, B: 255}, -1)
		}
		gocv.BitwiseNot(mask, &mask)
		gocv.BitwiseAnd(diff, mask, &diff)
		f := float64(gocv.CountNonZero(diff)) / float64(gocv.CountNonZero(mask))
		mostEmpty = max(mostEmpty, f)
		if f > 0.02 {
			t.Errorf("frame %d: %.1f%% of the empty scene differs from the background", i, 100*f)
		}
		clear++
	})
	if n != 100 {
		t.Errorf("decoded %d frames, want 100", n)
	}
	t.Logf("%d people in %d frames: at least %.0f%% of each box differs from the background, at most %.2f%% of the empty scene",
		people, clear, 100*leastPerson, 100*mostEmpty)
	if people < 20 || clear != 50 {
		t.Errorf("checked %d people in %d frames", people, clear)
	}
}

func TestWriteBusyAt1080p(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	path := filepath.Join(t.TempDir(), "busy.mp4")
	tr, err := samplevideo.WriteBusy(path, samplevideo.Busy{Width: 1920, Height: 1080, Frames: 25, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Frames) != 25 {
		t.Errorf("truth of %d frames", len(tr.Frames))
	}
	if n := decode(t, path, 1920, 1080, nil); n != 25 {
		t.Errorf("decoded %d frames, want 25", n)
	}
	checkBitrate(t, path, 1, 4e6)
}

func TestWriteBusyWithoutFFmpeg(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	path := filepath.Join(t.TempDir(), "busy.mp4")
	_, err := samplevideo.WriteBusy(path, samplevideo.Busy{Frames: 5})
	if err == nil || !strings.Contains(err.Error(), "ffmpeg") {
		t.Fatalf("got %v, want an error naming ffmpeg", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a file was left at %s: %v", path, err)
	}
}

func TestWriteBusyStopsWhenCancelled(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	path := filepath.Join(t.TempDir(), "busy.mp4")
	if _, err := samplevideo.WriteBusyContext(ctx, path, samplevideo.Busy{Frames: 50}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a file was left at %s: %v", path, err)
	}
}

func TestBusyWalkersIsHowManyWalkAtOnce(t *testing.T) {
	tr := samplevideo.Busy{Walkers: 3, Frames: 250, Seed: 6}.Truth()
	most := 0
	for i, ws := range tr.Frames {
		if len(ws) > 3 {
			t.Fatalf("frame %d: %d people in view", i, len(ws))
		}
		if len(ws) >= 2 {
			most++
		}
	}
	if most < 200 {
		t.Errorf("two or three people in view in only %d of 250 frames", most)
	}
	short := samplevideo.Busy{Frames: 100, Seed: 6}.Truth()
	busy := 0
	for _, ws := range short.Frames {
		if len(ws) >= 6 {
			busy++
		}
	}
	if busy < 70 {
		t.Errorf("a 4 s clip has six or more people in view in only %d of 100 frames", busy)
	}
}

func TestBusyRefusesBadSizes(t *testing.T) {
	for _, b := range []samplevideo.Busy{{Width: 721}, {Height: 40}, {Frames: -1}, {Bitrate: -5}} {
		if _, err := samplevideo.WriteBusy(filepath.Join(t.TempDir(), "x.mp4"), b); err == nil {
			t.Errorf("%+v: no error", b)
		}
		if _, err := samplevideo.NewBusyRenderer(b); err == nil {
			t.Errorf("%+v: renderer without error", b)
		}
	}
}

// seen is one person in one frame.
type seen struct {
	frame int
	w     samplevideo.Walker
}

func tracksOf(tr samplevideo.Truth) map[int][]seen {
	tracks := map[int][]seen{}
	for i, ws := range tr.Frames {
		for _, w := range ws {
			tracks[w.ID] = append(tracks[w.ID], seen{i, w})
		}
	}
	return tracks
}

// pausedFor returns the longest run of frames a person stands still and
// then walks on.
func pausedFor(tk []seen) int {
	longest, run := 0, 0
	for _, s := range tk {
		if !s.w.Moving {
			run++
			continue
		}
		longest, run = max(longest, run), 0
	}
	return longest
}

// medianSpeed returns a person's median speed in pixels per second, over
// spans of five frames in which they walk wholly in view.
func medianSpeed(tk []seen, fps float64) (float64, bool) {
	const span = 5
	var v []float64
	for k := span; k < len(tk); k++ {
		a, b := tk[k-span], tk[k]
		ok := b.frame == a.frame+span
		for _, s := range tk[k-span : k+1] {
			ok = ok && s.w.Moving && !touchesEdge(s.w.Box, sdFrame())
		}
		if ok {
			d := foot(b.w.Box).Sub(foot(a.w.Box))
			v = append(v, fps/span*math.Hypot(float64(d.X), float64(d.Y)))
		}
	}
	if len(v) < 5 {
		return 0, false
	}
	sort.Float64s(v)
	return v[len(v)/2], true
}

func touchesEdge(r, frame image.Rectangle) bool {
	return r.Min.X <= frame.Min.X || r.Min.Y <= frame.Min.Y || r.Max.X >= frame.Max.X || r.Max.Y >= frame.Max.Y
}

func center(r image.Rectangle) image.Point { return r.Min.Add(r.Max).Div(2) }

func foot(r image.Rectangle) image.Point { return image.Pt((r.Min.X+r.Max.X)/2, r.Max.Y) }

func changedFraction(binary gocv.Mat, box image.Rectangle) float64 {
	roi := binary.Region(box)
	defer roi.Close()
	return float64(gocv.CountNonZero(roi)) / float64(box.Dx()*box.Dy())
}

// decode reads the clip at path, checks every frame's size and hands each
// frame, in grey, to each (when not nil); it returns the number of frames.
func decode(t *testing.T, path string, width, height int, each func(i int, grey gocv.Mat)) int {
	t.Helper()
	vc, err := gocv.VideoCaptureFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer vc.Close()
	frame, grey := gocv.NewMat(), gocv.NewMat()
	defer frame.Close()
	defer grey.Close()
	n := 0
	for ; vc.Read(&frame); n++ {
		if frame.Cols() != width || frame.Rows() != height {
			t.Fatalf("frame %d is %d×%d", n, frame.Cols(), frame.Rows())
		}
		if each != nil {
			gocv.CvtColor(frame, &grey, gocv.ColorBGRToGray)
			each(n, grey)
		}
	}
	return n
}

// checkBitrate checks that the clip's size over its duration is within a
// factor of 1.5 of the target.
func checkBitrate(t *testing.T, path string, seconds, target float64) {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	rate := float64(st.Size()) * 8 / seconds
	t.Logf("%s: %.2f Mbit/s", filepath.Base(path), rate/1e6)
	if rate < target/1.5 || rate > target*1.5 {
		t.Errorf("bitrate %.2f Mbit/s, want about %.2f", rate/1e6, target/1e6)
	}
}
