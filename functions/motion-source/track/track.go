// Package track follows the motion blobs of one camera across analysed frames
// and decides which of them the detector has not seen yet.
//
// Blobs are matched to tracks by overlap (IoU), then, for fast movers whose
// boxes no longer overlap, by the distance of their centres. A blob that is
// new, that split off another, that grew (someone joined it or came into
// view) or that moved beyond the image last sent for it is due at once; a blob that keeps moving is due again only every refresh
// interval; a frame in which nothing is due sends nothing. A part that splits
// off a track while still inside the image last sent for that track is not
// new to the detector: it inherits the track's last send and is refreshed
// with it. This is what keeps a busy scene — many people walking for
// minutes — from being re-sent to the detector on every analysed frame.
package track

import (
	"image"
	"math"
	"sort"
	"time"
)

// Config tunes the tracker. Zero fields take the defaults in brackets.
type Config struct {
	// Refresh is how often a track that keeps moving is sent again [1 s].
	Refresh time.Duration
	// Lost is how long a track may go unseen before it ends [1 s].
	Lost time.Duration
	// MinIoU is the least overlap (intersection over union) that matches a
	// blob to a track [0.1].
	MinIoU float64
	// Grow is the growth of a track's area since it was last sent that
	// makes it due at once: someone joined it, or came into view [2].
	Grow float64
	// Settle is the least time between two images of a track that grew:
	// the blobs of a crowd grow and shrink as people pass each other, and
	// a track sent this recently is shown again only when its refresh is
	// due or it settles [400 ms].
	Settle time.Duration
	// Confirm is the number of analysed frames a new blob must be seen in
	// before it is due, so that a one-frame flicker sends nothing [2].
	Confirm int
}

func (c Config) withDefaults() Config {
	if c.Refresh == 0 {
		c.Refresh = time.Second
	}
	if c.Lost == 0 {
		c.Lost = time.Second
	}
	if c.MinIoU == 0 {
		c.MinIoU = 0.1
	}
	if c.Grow == 0 {
		c.Grow = 2
	}
	if c.Settle == 0 {
		c.Settle = 400 * time.Millisecond
	}
	if c.Confirm == 0 {
		c.Confirm = 2
	}
	return c
}

// Reason says why a track is due; the lower, the more pressing.
type Reason int

// The reasons a track is due, None when it is not.
const (
	ReasonNone     Reason = iota
	ReasonNew             // first seen (and confirmed)
	ReasonSplit           // a blob that split off a tracked one
	ReasonGrown           // it grew by Grow, or beyond the image last sent for it
	ReasonEntering        // motion reaches in from the frame's edge further than when last sent
	ReasonRefresh         // moving, and last sent a refresh interval ago
	ReasonNearby          // not due by itself, but half its refresh interval gone while others are due
)

// String names the reason, as metrics and logs show it.
func (r Reason) String() string {
	return [...]string{"none", "new", "split", "grown", "entering", "refresh", "nearby"}[r]
}

// Track is one moving thing followed across frames.
type Track struct {
	// ID is unique within the tracker's process (see New).
	ID uint64
	// Box is where the track is in the latest frame, in full-frame pixels.
	Box image.Rectangle
	// Reason is why the track is due in the latest frame; None when not.
	Reason Reason

	hits       int           // frames seen in
	seen       time.Duration // time last seen
	sent       time.Duration // time last sent
	hasSent    bool
	sentRegion image.Rectangle // frame pixels of the image last sent with the track
	sentArea   int             // the track's area then
	split      bool            // born by splitting off another track
}

// Tracker follows the blobs of one camera. It is not safe for concurrent
// use.
type Tracker struct {
	cfg    Config
	next   uint64
	now    time.Duration
	frame  image.Point
	edges  []Depths // how far motion reaches in from the edges in the latest frame
	known  []known  // how far it reached in the images sent recently
	tracks []*Track
	seen   []*Track // tracks matched in the latest frame
}

// New returns a tracker whose track ids start at firstID. A process that
// restarts should pass a different start (the watcher derives it from the
// start time) so that ids are not reused.
func New(cfg Config, firstID uint64) *Tracker {
	return &Tracker{cfg: cfg.withDefaults(), next: firstID}
}

// Side names an edge of the frame.
type Side int

// The edges of a frame.
const (
	Top Side = iota
	Bottom
	Left
	Right
)

// Depths is how far motion reaches into the frame from one edge: for each
// position along it (Step full-frame pixels apart), the depth in full-frame
// pixels of the motion that touches the edge there.
type Depths struct {
	Side  Side
	Step  float64
	Depth []int
}

// known is how far motion reached in from one edge in an image sent, and
// when.
type known struct {
	Depths
	at time.Duration
}

// Reset forgets every track, as when a stream reopens and its clock restarts.
func (t *Tracker) Reset() {
	t.tracks, t.seen, t.now, t.known = nil, nil, 0, nil
}

// Len returns the number of live tracks, seen or not in the latest frame.
func (t *Tracker) Len() int { return len(t.tracks) }

// Update matches the blobs of a frame of the given size at time now (the
// stream's clock) to the tracks and returns the tracks seen in this frame, with their Reason
// set. Time running backwards resets the tracker.
func (t *Tracker) Update(now time.Duration, frame image.Point, blobs []image.Rectangle, edges []Depths) []*Track {
	if now < t.now {
		t.Reset()
	}
	t.now, t.frame, t.edges = now, frame, edges
	prev := make([]image.Rectangle, len(t.tracks))
	for i, tr := range t.tracks {
		prev[i] = tr.Box
		tr.Reason = ReasonNone
	}
	blobTrack := t.match(blobs)

	t.seen = t.seen[:0]
	matched := make([]bool, len(t.tracks))
	for b, ti := range blobTrack {
		if ti < 0 {
			continue
		}
		matched[ti] = true
		tr := t.tracks[ti]
		tr.Box, tr.seen = blobs[b], now
		tr.hits++
		t.seen = append(t.seen, tr)
	}
	// Blobs nobody matched are new tracks, or parts split off a track seen
	// in this frame.
	born := []*Track{}
	for b, ti := range blobTrack {
		if ti >= 0 {
			continue
		}
		tr := &Track{ID: t.next, Box: blobs[b], hits: 1, seen: now}
		t.next++
		for i, p := range prev {
			if matched[i] && p.Overlaps(blobs[b]) {
				tr.split = true
				if parent := t.tracks[i]; parent.hasSent && inside(tr.Box, parent.sentRegion) {
					tr.hasSent, tr.sent, tr.sentRegion, tr.sentArea = true, parent.sent, parent.sentRegion, area(tr.Box)
				}
				break
			}
		}
		born = append(born, tr)
	}
	// End the tracks not seen for too long.
	kept := t.tracks[:0]
	for i, tr := range t.tracks {
		if matched[i] || now-tr.seen <= t.cfg.Lost {
			kept = append(kept, tr)
		}
	}
	t.tracks = append(kept, born...)
	t.seen = append(t.seen, born...)
	for _, tr := range t.seen {
		tr.Reason = t.reason(tr)
	}
	t.entering()
	return t.seen
}

// entering makes due the tracks where motion reaches in from an edge of the
// frame at least twice as far as in the images sent within the refresh
// interval, and by a thirtieth of the frame: someone coming into view, even
// inside the blob of a crowd, once enough of them is in view to be seen.
func (t *Tracker) entering() {
	kept := t.known[:0]
	for _, k := range t.known {
		if t.now-k.at < t.cfg.Refresh {
			kept = append(kept, k)
		}
	}
	t.known = kept
	for _, e := range t.edges {
		seen := t.seenDepth(e)
		gain := t.across(e.Side) / 30
		run := 0
		for i, d := range e.Depth {
			if d >= 2*seen[i] && d-seen[i] >= gain && d > 0 {
				run++
			} else {
				run = 0
			}
			if run < 2 {
				continue
			}
			from := int(float64(i-1) * e.Step)
			to := int(float64(i+1) * e.Step)
			near := int(3 * e.Step) // boxes come from a small frame, and may stop short of the edge
			for _, tr := range t.seen {
				if tr.Reason == ReasonNone && tr.hits >= t.cfg.Confirm && t.now-tr.sent >= t.cfg.Settle && t.touches(tr.Box, e.Side, from, to, near) {
					tr.Reason = ReasonEntering
				}
			}
		}
	}
}

// seenDepth returns, for each position along the edge, the deepest motion
// the images sent recently showed within a tenth of the edge of it (what
// moves along the edge stays known until the next refresh).
func (t *Tracker) seenDepth(e Depths) []int {
	out := make([]int, len(e.Depth))
	spread := max(1, len(e.Depth)/10)
	for _, k := range t.known {
		if k.Side != e.Side || len(k.Depth) != len(out) {
			continue
		}
		for i, d := range k.Depth {
			for j := max(0, i-spread); j <= min(len(out)-1, i+spread); j++ {
				out[j] = max(out[j], d)
			}
		}
	}
	return out
}

// across returns the frame's size across an edge (its height for the top
// and bottom edges).
func (t *Tracker) across(side Side) int {
	if side == Top || side == Bottom {
		return t.frame.Y
	}
	return t.frame.X
}

// touches reports whether box b comes within near pixels of the given edge
// between from and to.
func (t *Tracker) touches(b image.Rectangle, side Side, from, to, near int) bool {
	switch side {
	case Top:
		return b.Min.Y <= near && b.Min.X < to && b.Max.X > from
	case Bottom:
		return b.Max.Y >= t.frame.Y-near && b.Min.X < to && b.Max.X > from
	case Left:
		return b.Min.X <= near && b.Min.Y < to && b.Max.Y > from
	default:
		return b.Max.X >= t.frame.X-near && b.Min.Y < to && b.Max.Y > from
	}
}

// reason says why a track seen in the latest frame is due, if it is.
func (t *Tracker) reason(tr *Track) Reason {
	switch {
	case tr.hits < t.cfg.Confirm:
		return ReasonNone
	case !tr.hasSent && tr.split:
		return ReasonSplit
	case !tr.hasSent:
		return ReasonNew
	case t.now-tr.sent >= t.cfg.Settle && (!inside(tr.Box, tr.sentRegion) || t.grew(tr)):
		return ReasonGrown
	case t.now-tr.sent >= t.cfg.Refresh:
		return ReasonRefresh
	}
	return ReasonNone
}

// grew reports whether a track's area grew enough since it was last sent to
// mean someone joined it: by Grow, or by half of that at the edge of the
// frame, where people come into view a part at a time.
func (t *Tracker) grew(tr *Track) bool {
	g := t.cfg.Grow
	const near = 12 // pixels: boxes come from a small frame, and may stop short of the edge
	if b := tr.Box; b.Min.X <= near || b.Min.Y <= near || b.Max.X >= t.frame.X-near || b.Max.Y >= t.frame.Y-near {
		g = 1 + (g-1)/2
	}
	return float64(area(tr.Box)) >= g*float64(tr.sentArea)
}

// match returns, for each blob, the index of the track it continues, or -1.
// Pairs are taken by decreasing overlap, then by increasing distance between
// centres (within the track's size) for what overlaps nothing.
func (t *Tracker) match(blobs []image.Rectangle) []int {
	out := make([]int, len(blobs))
	for i := range out {
		out[i] = -1
	}
	type pair struct {
		b, t  int
		score float64
	}
	var byIoU, byDist []pair
	for b, blob := range blobs {
		for i, tr := range t.tracks {
			if v := iou(blob, tr.Box); v >= t.cfg.MinIoU {
				byIoU = append(byIoU, pair{b, i, v})
			} else if d, reach := centreDistance(blob, tr.Box), float64(max(tr.Box.Dx(), tr.Box.Dy())); d <= reach {
				byDist = append(byDist, pair{b, i, -d})
			}
		}
	}
	used := make([]bool, len(t.tracks))
	for _, pairs := range [][]pair{byIoU, byDist} {
		sort.SliceStable(pairs, func(i, j int) bool { return pairs[i].score > pairs[j].score })
		for _, p := range pairs {
			if out[p.b] < 0 && !used[p.t] {
				out[p.b], used[p.t] = p.t, true
			}
		}
	}
	return out
}

// Due returns the tracks of the latest frame to send now: those with a
// reason and, when there is any, the confirmed tracks that are half a
// refresh interval from their last send (their Reason becomes Nearby), so
// that the refreshes of a busy scene gather into the same frames.
func (t *Tracker) Due() []*Track {
	var due []*Track
	for _, tr := range t.seen {
		if tr.Reason != ReasonNone {
			due = append(due, tr)
		}
	}
	if len(due) == 0 {
		return nil
	}
	for _, tr := range t.seen {
		if tr.Reason == ReasonNone && tr.hasSent && t.now-tr.sent >= t.cfg.Refresh/2 {
			tr.Reason = ReasonNearby
			due = append(due, tr)
		}
	}
	return due
}

// Sent records that region r (full-frame pixels) of the latest frame went to
// the detector: every track seen in the frame with most of its box inside r
// counts as sent now.
func (t *Tracker) Sent(r image.Rectangle) {
	for _, tr := range t.seen {
		if inside(tr.Box, r) {
			tr.sent, tr.hasSent, tr.sentRegion, tr.sentArea = t.now, true, r, area(tr.Box)
		}
	}
	// How far motion reached in from the edges the image shows is known
	// to the detector now.
	for _, e := range t.edges {
		if !t.edgeIn(e.Side, r) {
			continue
		}
		lo, hi := r.Min.X, r.Max.X
		if e.Side == Left || e.Side == Right {
			lo, hi = r.Min.Y, r.Max.Y
		}
		k := known{Depths{Side: e.Side, Step: e.Step, Depth: make([]int, len(e.Depth))}, t.now}
		for i, d := range e.Depth {
			if at := int(float64(i) * e.Step); at >= lo && at < hi {
				k.Depth[i] = d
			}
		}
		t.known = append(t.known, k)
	}
}

// edgeIn reports whether region r reaches the given edge of the frame.
func (t *Tracker) edgeIn(side Side, r image.Rectangle) bool {
	switch side {
	case Top:
		return r.Min.Y <= 0
	case Bottom:
		return r.Max.Y >= t.frame.Y
	case Left:
		return r.Min.X <= 0
	default:
		return r.Max.X >= t.frame.X
	}
}

// inside reports whether at least 90 % of b lies in r.
func inside(b, r image.Rectangle) bool {
	return float64(area(b.Intersect(r))) >= 0.9*float64(area(b))
}

func area(r image.Rectangle) int { return r.Dx() * r.Dy() }

func iou(a, b image.Rectangle) float64 {
	in := area(a.Intersect(b))
	if in == 0 {
		return 0
	}
	return float64(in) / float64(area(a)+area(b)-in)
}

func centreDistance(a, b image.Rectangle) float64 {
	ca, cb := a.Min.Add(a.Max), b.Min.Add(b.Max) // twice the centres
	return math.Hypot(float64(ca.X-cb.X), float64(ca.Y-cb.Y)) / 2
}
