package track_test

import (
	"image"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/track"
)

const frame = 200 * time.Millisecond // 5 analysed frames a second

// step updates the tracker with the blobs of frame i, sends every due track
// whole and returns the reasons of the due tracks by id.
func step(t *testing.T, tr *track.Tracker, i int, blobs ...image.Rectangle) map[uint64]track.Reason {
	t.Helper()
	tr.Update(time.Duration(i)*frame, blobs)
	due := map[uint64]track.Reason{}
	for _, d := range tr.Due() {
		due[d.ID] = d.Reason
		tr.Sent(d.Box)
	}
	return due
}

// walker returns a 40×100 box moving 8 px to the right each frame.
func walker(x0, i int) image.Rectangle { return image.Rect(x0+8*i, 100, x0+8*i+40, 200) }

func TestNewTrackIsDueOnceConfirmed(t *testing.T) {
	tr := track.New(track.Config{}, 1)
	if due := step(t, tr, 0, walker(0, 0)); len(due) != 0 {
		t.Fatalf("first sighting due %v, want nothing before confirmation", due)
	}
	due := step(t, tr, 1, walker(0, 1))
	if len(due) != 1 || due[1] != track.ReasonNew {
		t.Fatalf("second sighting due %v, want track 1 as new", due)
	}
}

func TestMovingTrackIsRefreshedEveryInterval(t *testing.T) {
	tr := track.New(track.Config{Refresh: time.Second}, 1)
	var sends []int
	for i := 0; i < 26; i++ { // 5 s
		if due := step(t, tr, i, walker(0, i)); len(due) > 0 {
			if len(due) != 1 {
				t.Fatalf("frame %d: due %v, want one track", i, due)
			}
			sends = append(sends, i)
		}
	}
	// Sent when confirmed (frame 1), then every 5 frames.
	want := []int{1, 6, 11, 16, 21}
	if len(sends) != len(want) {
		t.Fatalf("sent in frames %v, want %v", sends, want)
	}
	for i := range want {
		if sends[i] != want[i] {
			t.Fatalf("sent in frames %v, want %v", sends, want)
		}
	}
}

func TestNothingDueSendsNothing(t *testing.T) {
	tr := track.New(track.Config{}, 1)
	step(t, tr, 0, walker(0, 0))
	step(t, tr, 1, walker(0, 1))
	for i := 2; i < 5; i++ {
		if due := step(t, tr, i, walker(0, i)); len(due) != 0 {
			t.Fatalf("frame %d: due %v within the refresh interval", i, due)
		}
	}
}

func TestSplitIsDueAtOnce(t *testing.T) {
	tr := track.New(track.Config{}, 1)
	pair := image.Rect(100, 100, 200, 200)
	step(t, tr, 0, pair)
	step(t, tr, 1, pair)
	// The pair walks apart: the left half keeps the track, the right one is new.
	left, right := image.Rect(95, 100, 145, 200), image.Rect(160, 100, 210, 200)
	if due := step(t, tr, 2, left, right); len(due) != 0 {
		t.Fatalf("split unconfirmed due %v", due)
	}
	due := step(t, tr, 3, left, right.Add(image.Pt(5, 0)))
	if len(due) != 1 || due[2] != track.ReasonSplit {
		t.Fatalf("due %v, want track 2 as split", due)
	}
}

func TestGrownTrackIsDueAtOnce(t *testing.T) {
	tr := track.New(track.Config{}, 1)
	b := image.Rect(100, 100, 140, 200)
	step(t, tr, 0, b)
	step(t, tr, 1, b)
	if due := step(t, tr, 2, image.Rect(100, 100, 145, 200)); len(due) != 0 {
		t.Fatalf("a slightly larger blob was due: %v", due)
	}
	if due := step(t, tr, 3, image.Rect(90, 90, 160, 220)); due[1] != track.ReasonGrown {
		t.Fatalf("due %v, want track 1 grown", due)
	}
}

func TestFastMoverKeepsItsTrack(t *testing.T) {
	tr := track.New(track.Config{}, 1)
	step(t, tr, 0, image.Rect(0, 100, 40, 200))
	step(t, tr, 1, image.Rect(30, 100, 70, 200))
	// 45 px in one frame: no overlap, but the centre moved less than the box.
	tr.Update(2*frame, []image.Rectangle{image.Rect(75, 100, 115, 200)})
	if tr.Len() != 1 {
		t.Fatalf("%d tracks, want the fast mover to keep its one track", tr.Len())
	}
}

func TestLostTrackEndsAndTimeBackwardsResets(t *testing.T) {
	tr := track.New(track.Config{Lost: time.Second}, 1)
	step(t, tr, 0, walker(0, 0))
	step(t, tr, 1, walker(0, 1))
	step(t, tr, 5)
	if tr.Len() != 1 {
		t.Fatalf("%d tracks after 0.8 s unseen, want 1", tr.Len())
	}
	step(t, tr, 7)
	if tr.Len() != 0 {
		t.Fatalf("%d tracks after 1.2 s unseen, want 0", tr.Len())
	}
	step(t, tr, 10, walker(0, 0))
	tr.Update(0, nil) // a file looped: its clock restarts
	if tr.Len() != 0 {
		t.Fatalf("%d tracks after the clock went back, want 0", tr.Len())
	}
}

func TestRefreshesGatherIntoOneFrame(t *testing.T) {
	tr := track.New(track.Config{Refresh: time.Second}, 1)
	// Two walkers appearing 3 frames apart end up refreshed in the same frames.
	a := func(i int) image.Rectangle { return walker(0, i) }
	b := func(i int) image.Rectangle { return image.Rect(600-8*i, 300, 640-8*i, 400) }
	sendFrames := 0
	for i := 0; i < 40; i++ {
		blobs := []image.Rectangle{a(i)}
		if i >= 3 {
			blobs = append(blobs, b(i))
		}
		if due := step(t, tr, i, blobs...); len(due) > 0 {
			sendFrames++
		}
	}
	// 8 s of two walkers: one frame a second, plus the second walker's first.
	if sendFrames > 9 {
		t.Fatalf("%d frames sent in 8 s for two walkers, want their refreshes gathered (≤ 9)", sendFrames)
	}
}

func TestIDsStartWhereTold(t *testing.T) {
	tr := track.New(track.Config{}, 1000)
	step(t, tr, 0, walker(0, 0))
	due := step(t, tr, 1, walker(0, 1))
	if _, ok := due[1000]; !ok {
		t.Fatalf("due %v, want the first id 1000", due)
	}
}
