package track_test

import (
	"image"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/track"
)

const frame = 200 * time.Millisecond // 5 analysed frames a second

// step updates the tracker with the blobs of frame i, sends every due track
// in an image reaching 150 px around it (as a crop of the detector's input
// size would) and returns the reasons of the due tracks by id.
func step(t *testing.T, tr *track.Tracker, i int, blobs ...image.Rectangle) map[uint64]track.Reason {
	t.Helper()
	tr.Update(time.Duration(i)*frame, image.Pt(2000, 1000), blobs, nil)
	due := map[uint64]track.Reason{}
	for _, d := range tr.Due() {
		due[d.ID] = d.Reason
		tr.Sent(d.Box.Inset(-150))
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
	stepRegion(t, tr, 0, 0, pair)
	stepRegion(t, tr, 1, 0, pair) // sent as just the pair
	// The pair walks apart, one of them out of the image sent: the left
	// keeps the track, the right one is new to the detector.
	left, right := image.Rect(95, 100, 145, 200), image.Rect(160, 100, 215, 200)
	if due := stepRegion(t, tr, 2, 0, left, right); len(due) != 0 {
		t.Fatalf("split unconfirmed due %v", due)
	}
	due := stepRegion(t, tr, 3, 0, left, right.Add(image.Pt(5, 0)))
	if len(due) != 1 || due[2] != track.ReasonSplit {
		t.Fatalf("due %v, want track 2 as split", due)
	}
}

// stepRegion is step with every due track sent inside one region around
// it, as a crop larger than the blob.
func stepRegion(t *testing.T, tr *track.Tracker, i int, pad int, blobs ...image.Rectangle) map[uint64]track.Reason {
	t.Helper()
	tr.Update(time.Duration(i)*frame, image.Pt(2000, 1000), blobs, nil)
	due := map[uint64]track.Reason{}
	for _, d := range tr.Due() {
		due[d.ID] = d.Reason
		tr.Sent(d.Box.Inset(-pad))
	}
	return due
}

func TestTrackGrownBeyondItsImageIsDueAtOnce(t *testing.T) {
	tr := track.New(track.Config{}, 1)
	b := image.Rect(100, 100, 140, 200)
	stepRegion(t, tr, 0, 50, b)
	stepRegion(t, tr, 1, 50, b) // sent as (50,50)-(190,250)
	if due := stepRegion(t, tr, 3, 50, image.Rect(95, 95, 150, 215)); len(due) != 0 {
		t.Fatalf("a blob grown a little inside the image sent for it was due: %v", due)
	}
	if due := stepRegion(t, tr, 4, 50, image.Rect(90, 90, 260, 230)); due[1] != track.ReasonGrown {
		t.Fatalf("due %v, want track 1 grown beyond its image", due)
	}
}

func TestSplitInsideTheImageSentInheritsTheSend(t *testing.T) {
	tr := track.New(track.Config{}, 1)
	pair := image.Rect(100, 100, 200, 200)
	stepRegion(t, tr, 0, 100, pair)
	stepRegion(t, tr, 1, 100, pair) // sent as (0,0)-(300,300)
	left, right := image.Rect(95, 100, 145, 200), image.Rect(160, 100, 210, 200)
	stepRegion(t, tr, 2, 100, left, right)
	if due := stepRegion(t, tr, 3, 100, left, right); len(due) != 0 {
		t.Fatalf("a split inside the image just sent was due: %v", due)
	}
	// It is refreshed with the track it split from.
	var got map[uint64]track.Reason
	for i := 4; i <= 6; i++ {
		got = stepRegion(t, tr, i, 100, left, right)
	}
	if got[1] != track.ReasonRefresh || got[2] != track.ReasonRefresh {
		t.Fatalf("frame 6: due %v, want both tracks refreshed a second after the send", got)
	}
}

func TestGrowthCountsAfterItSettles(t *testing.T) {
	tr := track.New(track.Config{}, 1)
	b := image.Rect(100, 100, 140, 200)
	stepRegion(t, tr, 0, 400, b)
	stepRegion(t, tr, 1, 400, b)
	twice := image.Rect(100, 100, 180, 200)
	if due := stepRegion(t, tr, 2, 400, twice); len(due) != 0 {
		t.Fatalf("a doubling 0.2 s after the send was due: %v", due)
	}
	if due := stepRegion(t, tr, 3, 400, twice); due[1] != track.ReasonGrown {
		t.Fatalf("due %v, want the doubled track due once settled", due)
	}
	// At the frame's edge, where people come into view a part at a time,
	// half the growth counts.
	edge := track.New(track.Config{}, 1)
	e := image.Rect(0, 100, 40, 200)
	stepRegion(t, edge, 0, 400, e)
	stepRegion(t, edge, 1, 400, e)
	if due := stepRegion(t, edge, 3, 400, image.Rect(0, 100, 62, 200)); due[1] != track.ReasonGrown {
		t.Fatalf("due %v, want a track growing 1.55× at the edge due", due)
	}
}

func TestFastMoverKeepsItsTrack(t *testing.T) {
	tr := track.New(track.Config{}, 1)
	step(t, tr, 0, image.Rect(0, 100, 40, 200))
	step(t, tr, 1, image.Rect(30, 100, 70, 200))
	// 45 px in one frame: no overlap, but the centre moved less than the box.
	tr.Update(2*frame, image.Pt(2000, 1000), []image.Rectangle{image.Rect(75, 100, 115, 200)}, nil)
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
	tr.Update(0, image.Pt(2000, 1000), nil, nil) // a file looped: its clock restarts
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

// edge returns the depth profile of the right edge of a 2000×1000 frame, 10
// positions of 100 px, with motion reaching depth px in between from and to.
func edge(from, to, depth int) []track.Depths {
	d := make([]int, 10)
	for i := from / 100; i < to/100; i++ {
		d[i] = depth
	}
	return []track.Depths{{Side: track.Right, Step: 100, Depth: d}}
}

func TestSomeoneEnteringInsideACrowdIsDue(t *testing.T) {
	tr := track.New(track.Config{}, 1)
	crowd := image.Rect(1500, 200, 2000, 900) // a blob of people, touching the right edge
	send := func(i int, e []track.Depths) map[uint64]track.Reason {
		tr.Update(time.Duration(i)*frame, image.Pt(2000, 1000), []image.Rectangle{crowd}, e)
		due := map[uint64]track.Reason{}
		for _, d := range tr.Due() {
			due[d.ID] = d.Reason
			tr.Sent(image.Rect(0, 0, 2000, 1000)) // the whole frame
		}
		return due
	}
	send(0, edge(600, 900, 80))
	send(1, edge(600, 900, 80)) // sent: someone near the bottom right, 80 px in
	// Someone comes in higher up the same edge, inside the crowd's blob: its
	// box does not change.
	if due := send(2, edge(200, 400, 30)); len(due) != 0 {
		t.Fatalf("due %v 0.2 s after a send", due)
	}
	// Twice as far in, and by a thirtieth of the frame (67 px here).
	if due := send(3, edge(200, 400, 120)); due[1] != track.ReasonEntering {
		t.Fatalf("due %v, want the crowd due for someone entering", due)
	}
	// The same person further in, within the refresh interval: known now.
	if due := send(5, edge(200, 400, 180)); len(due) != 0 {
		t.Fatalf("due %v for someone the detector saw 0.4 s ago", due)
	}
}
