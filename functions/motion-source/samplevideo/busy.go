package samplevideo

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"sort"
	"strconv"

	"gocv.io/x/gocv"
)

// Busy describes a CCTV-like busy scene: a camera looking down on a paved
// street in front of a building, with people walking across it on different
// paths and at different speeds, entering and leaving at the edges of the
// frame, some of them stopping for a while, each with a soft shadow, fresh
// sensor noise in every frame and the artefacts of a real H.264 encoder at a
// CCTV-like bitrate. The zero value of every field takes its default.
type Busy struct {
	// Width and Height are the frame size in pixels (default 720×576; both
	// must be even). People and their speeds scale with Height/576.
	Width, Height int
	// FPS is the clip's frame rate (default 25).
	FPS float64
	// Frames is the number of frames written (default 25 s of video).
	Frames int
	// Walkers is how many people walk across the scene at once (default
	// 8): when one leaves, another enters within a second, so at least six
	// are in view for most of the clip once the first ones have come in
	// (about 1 s).
	Walkers int
	// Seed makes the scene: the same seed gives the same paths, people and
	// pixels.
	Seed uint64
	// Noise is the standard deviation of the sensor noise in grey levels
	// (default 3; negative for none).
	Noise float64
	// Bitrate is the encoder's target in bits per second (default
	// CCTV-like: 1.5 Mbit/s at 720×576, growing with the pixel count to
	// about 4 Mbit/s at 1920×1080).
	Bitrate int
	// Stander adds two people who leave "ghosts" for a background model:
	// one stands in the first frame and walks away after 3 s, the other
	// walks in, stands for 10 s and walks away. Their spots are in
	// Truth.Vacated. Off in the zero value.
	Stander bool
}

// Truth is the ground truth of a busy clip: for each frame, each person in
// view.
type Truth struct {
	// FPS is the clip's frame rate.
	FPS float64
	// Size is the frame size.
	Size image.Point
	// Frames holds, for each frame, the people in view, by increasing ID.
	Frames [][]Walker
	// Vacated lists the spots people stood on long enough to become
	// background and then left, by the frame they left.
	Vacated []Vacated
}

// Walker is one person in view in one frame.
type Walker struct {
	// ID names the person for as long as they are in the scene; a person
	// who leaves never comes back.
	ID int
	// Box is the pixel box of the drawn person (shadow excluded) clipped to
	// the frame. People are drawn far to near, so a nearer person may hide
	// part of a farther one's box.
	Box image.Rectangle
	// Moving is false while the person stands still.
	Moving bool
}

// Vacated is a spot a person stood on long enough to become background and
// then left: from frame Left on, a motion box inside Spot that does not
// overlap a person in view is a ghost.
type Vacated struct {
	// ID is the person who stood there.
	ID int
	// Spot is the person's box while standing, clipped to the frame.
	Spot image.Rectangle
	// Left is the first frame in which the person has moved off the spot.
	Left int
}

// sdHeight is the frame height the people's sizes and speeds are given for.
const sdHeight = 576

func (b Busy) withDefaults() Busy {
	if b.Width == 0 {
		b.Width = 720
	}
	if b.Height == 0 {
		b.Height = sdHeight
	}
	if b.FPS == 0 {
		b.FPS = 25
	}
	if b.Frames == 0 {
		b.Frames = int(math.Round(25 * b.FPS))
	}
	if b.Walkers == 0 {
		b.Walkers = 8
	}
	if b.Noise == 0 {
		b.Noise = 3
	}
	if b.Bitrate == 0 {
		pixels := float64(b.Width * b.Height)
		b.Bitrate = int(1.5e6*math.Pow(pixels/(720*576), 0.61)/1e4) * 1e4
	}
	return b
}

func (b Busy) validate() error {
	switch {
	case b.Width < 64 || b.Height < 64 || b.Width%2 != 0 || b.Height%2 != 0:
		return fmt.Errorf("samplevideo: frame size %d×%d must be even and at least 64×64", b.Width, b.Height)
	case b.FPS < 0 || math.IsNaN(b.FPS) || math.IsInf(b.FPS, 0):
		return fmt.Errorf("samplevideo: bad frame rate %v", b.FPS)
	case b.Frames < 0 || b.Walkers < 0 || b.Walkers > 64 || b.Bitrate < 0:
		return errors.New("samplevideo: Frames, Walkers (at most 64) and Bitrate must not be negative")
	}
	return nil
}

// Truth returns the ground truth of the scene, without rendering it.
func (b Busy) Truth() Truth {
	b = b.withDefaults()
	sc := newBusyScene(b)
	t := Truth{FPS: b.FPS, Size: image.Pt(b.Width, b.Height), Frames: make([][]Walker, b.Frames)}
	frame := image.Rect(0, 0, b.Width, b.Height)
	for i := range t.Frames {
		for _, p := range sc.people {
			ps, ok := p.at(float64(i) / b.FPS)
			if !ok {
				continue
			}
			if box := sc.box(p, ps.foot).Intersect(frame); !box.Empty() {
				t.Frames[i] = append(t.Frames[i], Walker{ID: p.id, Box: box, Moving: ps.moving})
			}
		}
	}
	for _, p := range sc.people {
		if !p.vacates {
			continue
		}
		left, ok := p.leaves(b.FPS, b.Frames)
		if !ok {
			continue
		}
		t.Vacated = append(t.Vacated, Vacated{ID: p.id, Spot: sc.box(p, p.pts[p.spot]).Intersect(frame), Left: left})
	}
	sort.Slice(t.Vacated, func(i, j int) bool { return t.Vacated[i].Left < t.Vacated[j].Left })
	return t
}

// WriteBusy renders the scene and encodes it with the ffmpeg command
// (H.264, MP4) to path; see WriteBusyContext.
func WriteBusy(path string, b Busy) (Truth, error) {
	return WriteBusyContext(context.Background(), path, b)
}

// WriteBusyContext renders the scene and pipes it to the ffmpeg command
// (found on PATH) to encode it as a CCTV camera would: H.264 at Bitrate with
// a capped rate, a key frame every 2 s, 4:2:0 chroma, in an MP4 file at
// path. It returns the clip's ground truth. A failed write removes path.
func WriteBusyContext(ctx context.Context, path string, b Busy) (Truth, error) {
	b = b.withDefaults()
	if err := b.validate(); err != nil {
		return Truth{}, err
	}
	bin, err := exec.LookPath("ffmpeg")
	if err != nil {
		return Truth{}, fmt.Errorf("samplevideo: the busy scene is encoded by the ffmpeg command, which is not installed: %w", err)
	}
	r, err := NewBusyRenderer(b)
	if err != nil {
		return Truth{}, err
	}
	defer r.Close()
	if err := encode(ctx, bin, path, b, r); err != nil {
		os.Remove(path)
		return Truth{}, err
	}
	return b.Truth(), nil
}

// encode pipes the rendered frames, raw BGR, to ffmpeg.
func encode(ctx context.Context, bin, path string, b Busy, r *BusyRenderer) error {
	gop := int(math.Max(1, math.Round(2*b.FPS)))
	rate := strconv.Itoa(b.Bitrate)
	cmd := exec.CommandContext(ctx, bin, "-hide_banner", "-loglevel", "error",
		"-f", "rawvideo", "-pix_fmt", "bgr24", "-video_size", fmt.Sprintf("%dx%d", b.Width, b.Height),
		"-framerate", strconv.FormatFloat(b.FPS, 'f', -1, 64), "-i", "pipe:0",
		"-an", "-c:v", "libx264", "-preset", "veryfast",
		"-b:v", rate, "-maxrate", rate, "-bufsize", strconv.Itoa(2*b.Bitrate),
		"-g", strconv.Itoa(gop), "-keyint_min", strconv.Itoa(gop), "-sc_threshold", "0",
		"-pix_fmt", "yuv420p", "-movflags", "+faststart", "-f", "mp4", "-y", path)
	var stderr tailBuffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("samplevideo: ffmpeg: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("samplevideo: start ffmpeg: %w", err)
	}
	frame := gocv.NewMat()
	defer frame.Close()
	for i := 0; i < b.Frames; i++ {
		r.Render(i, &frame)
		data, err := frame.DataPtrUint8()
		if err == nil {
			_, err = stdin.Write(data)
		}
		if err != nil {
			stdin.Close()
			werr := cmd.Wait()
			if ctx.Err() != nil {
				return fmt.Errorf("samplevideo: frame %d: %w", i, ctx.Err())
			}
			return fmt.Errorf("samplevideo: frame %d: %w (ffmpeg: %v %s)", i, err, werr, stderr.String())
		}
	}
	if err := stdin.Close(); err != nil {
		cmd.Wait()
		return fmt.Errorf("samplevideo: ffmpeg: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("samplevideo: ffmpeg: %w %s", err, stderr.String())
	}
	return nil
}

// tailBuffer keeps the last few kilobytes written to it.
type tailBuffer struct{ bytes.Buffer }

func (t *tailBuffer) Write(p []byte) (int, error) {
	const limit = 4096
	t.Buffer.Write(p)
	if t.Len() > limit {
		t.Next(t.Len() - limit)
	}
	return len(p), nil
}

// BusyRenderer draws the frames of a busy scene, for tests and for writers
// other than WriteBusy (an MJPEG server, for instance).
type BusyRenderer struct {
	scene      busyScene
	background gocv.Mat
	noise      [256]int16 // Gaussian quantiles, indexed by a random byte
}

// NewBusyRenderer returns a renderer of the scene; Close releases it.
func NewBusyRenderer(b Busy) (*BusyRenderer, error) {
	b = b.withDefaults()
	if err := b.validate(); err != nil {
		return nil, err
	}
	r := &BusyRenderer{scene: newBusyScene(b)}
	r.background = r.scene.paintBackground()
	for j := range r.noise {
		q := math.Sqrt2 * math.Erfinv(2*(float64(j)+0.5)/256-1)
		r.noise[j] = int16(math.Round(b.Noise * q))
	}
	return r, nil
}

// Close releases the renderer's buffers.
func (r *BusyRenderer) Close() error { return r.background.Close() }

// Background returns a copy of the static scene, without people, shadows or
// noise. The caller closes it.
func (r *BusyRenderer) Background() gocv.Mat { return r.background.Clone() }

// Render draws frame i (BGR, before encoding) into dst. Frames may be drawn
// in any order; the same frame is always drawn the same.
func (r *BusyRenderer) Render(i int, dst *gocv.Mat) {
	sc := &r.scene
	r.background.CopyTo(dst)
	data, err := dst.DataPtrUint8()
	if err != nil {
		return
	}
	type drawn struct {
		p    *person
		pose pose
	}
	var in []drawn
	t := float64(i) / sc.b.FPS
	for _, p := range sc.people {
		if ps, ok := p.at(t); ok {
			in = append(in, drawn{p, ps})
		}
	}
	// Far (higher up) people first, so nearer ones are drawn over them.
	sort.SliceStable(in, func(a, b int) bool { return in[a].pose.foot.y < in[b].pose.foot.y })
	for _, d := range in {
		sc.paintShadow(data, d.p, d.pose)
	}
	for _, d := range in {
		sc.paintPerson(data, d.p, d.pose)
	}
	if sc.b.Noise > 0 {
		r.addNoise(data, i)
	}
}

// addNoise adds fresh Gaussian noise, drawn from the scene's seed and the
// frame number, to every channel of every pixel.
func (r *BusyRenderer) addNoise(data []uint8, frame int) {
	rng := rand.NewPCG(r.scene.b.Seed^0x5eed, uint64(frame))
	for o := 0; o < len(data); o += 8 {
		bits := rng.Uint64()
		for k := 0; k < 8 && o+k < len(data); k++ {
			v := int16(data[o+k]) + r.noise[uint8(bits>>(8*k))]
			data[o+k] = uint8(min(max(v, 0), 255))
		}
	}
}

// busyScene is the planned scene: geometry and every person's path.
type busyScene struct {
	b       Busy
	scale   float64 // Height / 576
	walkTop float64 // the highest feet go (far side of the pavement)
	people  []*person
}

type fpoint struct{ x, y float64 }

// person is one walker's appearance and path: it appears at start, stands
// stops[k] seconds at pts[k] and walks from each point to the next at speed.
type person struct {
	id      int
	start   float64
	speed   float64
	pts     []fpoint
	stops   []float64
	vacates bool // stands long enough at pts[spot] to become background
	spot    int
	look    look
}

// look is how a person is dressed.
type look struct {
	aspect                float64 // width / height
	shirt, trousers, skin [3]float64
	hair, shoes           [3]float64
	pattern               int
	stripe                float64 // pattern period as a fraction of height
	seed                  uint32
}

// pose is where a person is at one instant.
type pose struct {
	foot   fpoint
	moving bool
	dist   float64 // walked so far, for the stride
	dir    float64 // +1 walking right, -1 left
}

func newBusyScene(b Busy) busyScene {
	sc := busyScene{b: b, scale: float64(b.Height) / sdHeight, walkTop: 0.47 * float64(b.Height)}
	rng := rand.New(rand.NewPCG(b.Seed, 0xb05e))
	duration := float64(b.Frames) / b.FPS
	if b.Stander {
		sc.people = append(sc.people, sc.standers(rng)...)
	}
	for k := 0; k < b.Walkers; k++ {
		t := 0.08*float64(k) + 0.25*rng.Float64()
		for t < duration {
			p := sc.walker(rng, t)
			sc.people = append(sc.people, p)
			t = p.end() + rng.Float64()
		}
	}
	sort.SliceStable(sc.people, func(i, j int) bool { return sc.people[i].start < sc.people[j].start })
	for i, p := range sc.people {
		p.id = i + 1
	}
	return sc
}

// Edges of the frame where people enter and leave, as foot positions just
// outside the frame.
const (
	edgeLeft = iota
	edgeRight
	edgeBottom
)

// outside returns a foot position beyond the given edge, at fraction f
// along it, far enough out that the whole person is out of view.
func (sc *busyScene) outside(edge int, f float64) fpoint {
	w, h, s := float64(sc.b.Width), float64(sc.b.Height), sc.scale
	y := sc.walkTop + 0.04*h + f*(0.94*h-sc.walkTop)
	switch edge {
	case edgeLeft:
		return fpoint{-40 * s, y}
	case edgeRight:
		return fpoint{w + 40*s, y}
	}
	return fpoint{(0.08 + 0.84*f) * w, h + 146*s}
}

// walker plans one person crossing the scene from start on.
func (sc *busyScene) walker(rng *rand.Rand, start float64) *person {
	// Along the street either way, more often than to or from the bottom.
	routes := [...][2]int{
		{edgeLeft, edgeRight}, {edgeRight, edgeLeft}, {edgeLeft, edgeBottom},
		{edgeBottom, edgeLeft}, {edgeRight, edgeBottom}, {edgeBottom, edgeRight},
		{edgeLeft, edgeRight}, {edgeRight, edgeLeft},
	}
	route := routes[rng.IntN(len(routes))]
	a, b := sc.outside(route[0], rng.Float64()), sc.outside(route[1], rng.Float64())
	p := &person{start: start, speed: (60 + 60*rng.Float64()) * sc.scale, look: newLook(rng)}
	if rng.Float64() < 0.4 {
		f := 0.35 + 0.3*rng.Float64()
		mid := fpoint{a.x + f*(b.x-a.x), a.y + f*(b.y-a.y)}
		p.pts, p.stops = []fpoint{a, mid, b}, []float64{0, 1 + 3*rng.Float64(), 0}
	} else {
		p.pts, p.stops = []fpoint{a, b}, []float64{0, 0}
	}
	return p
}

// standers plans the two people who leave ghosts: one standing from the
// first frame who leaves after 3 s, one who walks in, stands 10 s and
// leaves.
func (sc *busyScene) standers(rng *rand.Rand) []*person {
	w, h, s := float64(sc.b.Width), float64(sc.b.Height), sc.scale
	first := &person{start: 0, speed: 80 * s, look: newLook(rng), vacates: true, spot: 0,
		pts:   []fpoint{{0.3 * w, 0.66 * h}, sc.outside(edgeLeft, 0.55)},
		stops: []float64{3, 0}}
	second := &person{start: 1.5, speed: 90 * s, look: newLook(rng), vacates: true, spot: 1,
		pts:   []fpoint{sc.outside(edgeRight, 0.7), {0.66 * w, 0.74 * h}, sc.outside(edgeBottom, 0.85)},
		stops: []float64{0, 10, 0}}
	return []*person{first, second}
}

// newLook dresses a person at random; colours are BGR.
func newLook(rng *rand.Rand) look {
	shirts := [...][3]float64{{40, 40, 170}, {160, 90, 30}, {50, 130, 60}, {200, 200, 205}, {40, 40, 45}, {30, 150, 210}, {130, 60, 120}, {90, 110, 140}, {20, 90, 200}, {170, 170, 80}}
	trousers := [...][3]float64{{60, 40, 30}, {35, 35, 38}, {110, 80, 60}, {80, 110, 130}, {140, 130, 125}, {50, 60, 50}}
	skins := [...][3]float64{{150, 180, 225}, {110, 145, 195}, {70, 100, 150}, {45, 65, 100}, {130, 165, 210}}
	hairs := [...][3]float64{{20, 25, 30}, {30, 50, 80}, {60, 100, 150}, {150, 150, 155}, {25, 30, 45}}
	return look{
		aspect:   0.45 + 0.05*rng.Float64(),
		shirt:    shirts[rng.IntN(len(shirts))],
		trousers: trousers[rng.IntN(len(trousers))],
		skin:     skins[rng.IntN(len(skins))],
		hair:     hairs[rng.IntN(len(hairs))],
		shoes:    [3]float64{30, 30, 35},
		pattern:  rng.IntN(4),
		stripe:   0.03 + 0.03*rng.Float64(),
		seed:     rng.Uint32(),
	}
}

// end is when the person has left the scene.
func (p *person) end() float64 {
	t := p.start
	for k, s := range p.stops {
		t += s
		if k+1 < len(p.pts) {
			t += dist(p.pts[k], p.pts[k+1]) / p.speed
		}
	}
	return t
}

// at returns the person's pose at time t, and false when they are not in
// the scene.
func (p *person) at(t float64) (pose, bool) {
	if t < p.start {
		return pose{}, false
	}
	c, walked, dir := p.start, 0.0, 1.0
	for k := range p.pts {
		if k+1 < len(p.pts) && p.pts[k+1].x < p.pts[k].x {
			dir = -1
		} else if k+1 < len(p.pts) {
			dir = 1
		}
		if p.stops[k] > 0 && t <= c+p.stops[k] {
			return pose{foot: p.pts[k], dist: walked, dir: dir}, true
		}
		c += p.stops[k]
		if k+1 == len(p.pts) {
			break
		}
		seg := dist(p.pts[k], p.pts[k+1])
		dur := seg / p.speed
		if t < c+dur {
			f := (t - c) / dur
			a, b := p.pts[k], p.pts[k+1]
			return pose{foot: fpoint{a.x + f*(b.x-a.x), a.y + f*(b.y-a.y)}, moving: true, dist: walked + f*seg, dir: dir}, true
		}
		c += dur
		walked += seg
	}
	return pose{}, false
}

// leaves returns the first frame in which a person who stands at
// pts[spot] has moved off it, and false when that is not within frames.
func (p *person) leaves(fps float64, frames int) (int, bool) {
	stood := false
	for i := 0; i < frames; i++ {
		ps, ok := p.at(float64(i) / fps)
		if ok && !ps.moving && ps.foot == p.pts[p.spot] {
			stood = true
		} else if stood {
			return i, true
		}
	}
	return 0, false
}

func dist(a, b fpoint) float64 { return math.Hypot(b.x-a.x, b.y-a.y) }

// size returns a person's height in pixels with their feet at y: 90 px on
// the far side of the pavement to 140 px at the bottom of an SD frame.
func (sc *busyScene) size(p *person, y float64) (w, h int) {
	f := (y - sc.walkTop) / (float64(sc.b.Height) - sc.walkTop)
	hh := sc.scale * (90 + 50*min(max(f, 0), 1))
	return int(math.Round(hh * p.look.aspect)), int(math.Round(hh))
}

// box returns the drawn person's box with their feet at foot, unclipped.
func (sc *busyScene) box(p *person, foot fpoint) image.Rectangle {
	w, h := sc.size(p, foot.y)
	x0 := int(math.Round(foot.x - float64(w)/2))
	y1 := int(math.Round(foot.y))
	return image.Rect(x0, y1-h, x0+w, y1)
}

// hash mixes three numbers into a well-spread 32-bit value, for textures
// that are fixed to the scene or to a person's clothes.
func hash(a, b, c uint32) uint32 {
	h := a*0x9e3779b1 ^ b*0x85ebca77 ^ c*0xc2b2ae3d
	h ^= h >> 15
	h *= 0x2c1b3c6d
	h ^= h >> 12
	h *= 0x297a2d39
	h ^= h >> 15
	return h
}

// jitter returns a value in [-amp, amp) from a hash.
func jitter(h uint32, amp float64) float64 { return (float64(h&1023)/512 - 1) * amp }

func put(data []uint8, o int, c [3]float64) {
	for k := 0; k < 3; k++ {
		data[o+k] = uint8(min(max(c[k], 12), 245))
	}
}

// paintShadow darkens a soft ellipse on the ground beside the person's
// feet, away from the light (which comes from the upper right).
func (sc *busyScene) paintShadow(data []uint8, p *person, ps pose) {
	_, h := sc.size(p, ps.foot.y)
	cx, cy := ps.foot.x-0.2*float64(h), ps.foot.y-0.015*float64(h)
	rx, ry := 0.32*float64(h), 0.06*float64(h)
	W, H := sc.b.Width, sc.b.Height
	for y := max(0, int(cy-ry)); y < min(H, int(cy+ry)+1); y++ {
		for x := max(0, int(cx-rx)); x < min(W, int(cx+rx)+1); x++ {
			dx, dy := (float64(x)+0.5-cx)/rx, (float64(y)+0.5-cy)/ry
			d := dx*dx + dy*dy
			if d >= 1 {
				continue
			}
			e := 1 - d
			f := 1 - 0.42*e*(2-e)
			o := (y*W + x) * 3
			for k := 0; k < 3; k++ {
				data[o+k] = uint8(float64(data[o+k]) * f)
			}
		}
	}
}

// Parts of a person's figure.
const (
	partNone = iota
	partHair
	partSkin
	partShirt
	partTrousers
	partShoe
)

// paintPerson draws the person: a head, a textured shirt with arms, legs
// that swing with the stride and shoes. The figure fills its box exactly:
// the shoulders span its width, the head touches its top and the shoes its
// bottom.
func (sc *busyScene) paintPerson(data []uint8, p *person, ps pose) {
	r := sc.box(p, ps.foot)
	w, h := r.Dx(), r.Dy()
	swing := 0.0
	if ps.moving {
		swing = math.Sin(2 * math.Pi * ps.dist / (0.75 * float64(h)))
	}
	W, H := sc.b.Width, sc.b.Height
	fw, fh := float64(w), float64(h)
	for y := max(0, r.Min.Y); y < min(H, r.Max.Y); y++ {
		v := y - r.Min.Y
		yn := (float64(v) + 0.5) / fh
		for x := max(0, r.Min.X); x < min(W, r.Max.X); x++ {
			u := x - r.Min.X
			xn := (float64(u) + 0.5) / fw
			part := figure(xn, yn, fw/fh, swing, ps.dir)
			if part == partNone {
				continue
			}
			c := p.look.colour(part, u, v, xn, yn, h)
			put(data, (y*W+x)*3, c)
		}
	}
}

// figure tells which part of the figure the point (xn, yn) of the box is,
// in fractions of the box; aspect is width/height, swing in [-1, 1] the
// stride, dir the walking direction.
func figure(xn, yn, aspect, swing, dir float64) int {
	// Head: an ellipse 0.144 h wide and 0.16 h tall touching the top.
	hx, hy := (xn-0.5)*aspect/0.072, (yn-0.08)/0.08
	if hx*hx+hy*hy <= 1 {
		if yn < 0.065 {
			return partHair
		}
		return partSkin
	}
	if yn >= 0.15 && yn < 0.175 && math.Abs(xn-0.5)*aspect <= 0.03 {
		return partSkin // neck
	}
	if yn >= 0.165 && yn < 0.58 {
		half := 0.30 - 0.03*(yn-0.26)/0.32
		switch {
		case yn < 0.19:
			half = 0.3 + 0.2*(yn-0.165)/0.025
		case yn < 0.26:
			half = 0.5 // shoulders and upper arms span the box
		}
		if math.Abs(xn-0.5) <= half {
			return partShirt
		}
	}
	if yn >= 0.26 && yn < 0.56 {
		t := (yn - 0.26) / 0.30
		left, right := 0.09+0.04*(1+swing)*t, 0.91-0.04*(1-swing)*t
		if math.Abs(xn-left) <= 0.075 || math.Abs(xn-right) <= 0.075 {
			if yn >= 0.51 {
				return partSkin // hands
			}
			return partShirt
		}
	}
	if yn >= 0.56 {
		t := min((yn-0.56)/0.39, 1)
		left, right := 0.4+0.2*swing*t, 0.6-0.2*swing*t
		if yn >= 0.95 {
			if math.Abs(xn-left-0.03*dir) <= 0.095 || math.Abs(xn-right-0.03*dir) <= 0.095 {
				return partShoe
			}
			return partNone
		}
		if math.Abs(xn-left) <= 0.08 || math.Abs(xn-right) <= 0.08 {
			return partTrousers
		}
	}
	return partNone
}

// colour returns the colour of one point of a part, with the clothes'
// pattern and fabric texture and light from the right.
func (l *look) colour(part, u, v int, xn, yn float64, h int) [3]float64 {
	var c [3]float64
	grain := jitter(hash(uint32(u), uint32(v), l.seed), 1)
	amp := 8.0
	switch part {
	case partHair:
		c, amp = l.hair, 14
	case partSkin:
		c = l.skin
	case partShirt:
		c, amp = l.shirt, 16
		period := l.stripe * float64(h)
		switch l.pattern {
		case 1: // stripes
			if int(float64(v)/period)%2 == 0 {
				c = scaled(c, 0.55)
			}
		case 2: // checks
			if (int(float64(u)/period)+int(float64(v)/period))%2 == 0 {
				c = scaled(c, 0.65)
			}
		case 3: // a jacket: zip and darker sleeves
			if math.Abs(xn-0.5) < 0.025 || math.Abs(xn-0.5) > 0.32 {
				c = scaled(c, 0.6)
			}
		}
	case partTrousers:
		c, amp = l.trousers, 10
	case partShoe:
		c = l.shoes
	}
	light := 0.8 + 0.35*xn - 0.1*yn
	for k := range c {
		c[k] = c[k]*light + grain*amp
	}
	return c
}

func scaled(c [3]float64, f float64) [3]float64 { return [3]float64{c[0] * f, c[1] * f, c[2] * f} }

// paintBackground draws the static scene: a brick building front with
// windows, a door and a shop sign, a paved pavement with a lamp post, a
// bench, a bin, a planter and bollards, a kerb and a strip of road.
func (sc *busyScene) paintBackground() gocv.Mat {
	W, H, s := sc.b.Width, sc.b.Height, sc.scale
	m := gocv.NewMatWithSize(H, W, gocv.MatTypeCV8UC3)
	data, _ := m.DataPtrUint8()
	fill := func(r image.Rectangle, paint func(x, y int) [3]float64) {
		r = r.Intersect(image.Rect(0, 0, W, H))
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				put(data, (y*W+x)*3, paint(x, y))
			}
		}
	}
	px := func(f float64, n int) int { return int(f * float64(n)) }
	rect := func(x0, y0, x1, y1 float64) image.Rectangle {
		return image.Rect(px(x0, W), px(y0, H), px(x1, W), px(y1, H))
	}
	grain := func(x, y int, amp float64) float64 { return jitter(hash(uint32(x), uint32(y), 7), amp) }
	plain := func(c [3]float64, amp float64) func(x, y int) [3]float64 {
		return func(x, y int) [3]float64 {
			g := grain(x, y, amp)
			return [3]float64{c[0] + g, c[1] + g, c[2] + g}
		}
	}
	line := max(1, int(math.Round(s)))
	// Bricks.
	bh, bl := max(4, int(9*s)), max(8, int(26*s))
	fill(rect(0, 0, 1, 0.40), func(x, y int) [3]float64 {
		row := y / bh
		xo := x + (row%2)*bl/2
		if y%bh < line || xo%bl < line {
			return plain([3]float64{175, 180, 185}, 6)(x, y)
		}
		v := jitter(hash(uint32(xo/bl), uint32(row), 3), 18)
		g := grain(x, y, 7)
		return [3]float64{70 + v + g, 85 + v + g, 150 + v + g}
	})
	fill(rect(0, 0, 1, 0.05), plain([3]float64{195, 200, 200}, 5)) // cornice
	// Windows: an upper row, shop windows and a door below a sign.
	for j := 0; j < 6; j++ {
		cx := (float64(j) + 0.5) / 6
		glass := func(x, y int) [3]float64 {
			r := 25 * math.Sin(float64(x+2*y)/(40*s))
			return [3]float64{95 + r + grain(x, y, 4), 75 + r, 60 + r}
		}
		fill(rect(cx-0.05, 0.07, cx+0.05, 0.17), plain([3]float64{220, 222, 225}, 4))
		fill(rect(cx-0.042, 0.08, cx+0.042, 0.16), glass)
		if j == 3 {
			fill(rect(cx-0.04, 0.22, cx+0.04, 0.40), plain([3]float64{35, 50, 75}, 6))
			fill(rect(cx+0.025, 0.30, cx+0.032, 0.32), plain([3]float64{150, 190, 200}, 4))
			continue
		}
		fill(rect(cx-0.06, 0.22, cx+0.06, 0.37), plain([3]float64{60, 60, 65}, 4))
		fill(rect(cx-0.053, 0.23, cx+0.053, 0.36), glass)
	}
	fill(rect(0.08, 0.185, 0.92, 0.212), func(x, y int) [3]float64 {
		if (x/max(3, int(7*s)))%3 != 0 && y%max(3, px(0.027, H)) > line*2 && x > px(0.2, W) && x < px(0.8, W) {
			return plain([3]float64{210, 225, 230}, 4)(x, y)
		}
		return plain([3]float64{50, 80, 30}, 5)(x, y)
	})
	fill(rect(0, 0.37, 1, 0.40), plain([3]float64{118, 120, 122}, 8)) // plinth
	// Paving slabs.
	sw, sh := max(8, int(40*s)), max(6, int(22*s))
	fill(rect(0, 0.40, 1, 0.86), func(x, y int) [3]float64 {
		row := y / sh
		xo := x + (row%2)*sw/2
		if y%sh < line || xo%sw < line {
			return plain([3]float64{95, 98, 100}, 5)(x, y)
		}
		v := jitter(hash(uint32(xo/sw), uint32(row), 5), 12) + 8*math.Sin(float64(x)/(37*s))*math.Sin(float64(y)/(23*s))
		g := grain(x, y, 7) + v
		return [3]float64{150 + g, 148 + g, 142 + g}
	})
	// Kerb, gutter, road with a dashed line.
	kl := max(10, int(60*s))
	fill(rect(0, 0.86, 1, 0.885), func(x, y int) [3]float64 {
		if x%kl < line {
			return plain([3]float64{120, 120, 120}, 4)(x, y)
		}
		return plain([3]float64{188, 190, 192}, 7)(x, y)
	})
	fill(rect(0, 0.885, 1, 1), func(x, y int) [3]float64 {
		g := grain(x, y, 12)
		if yy := float64(y) / float64(H); yy > 0.945 && yy < 0.955 && x%int(90*s) < int(50*s) {
			return [3]float64{215 + g/2, 215 + g/2, 210 + g/2}
		}
		return [3]float64{74 + g, 72 + g, 70 + g}
	})
	fill(rect(0, 0.885, 1, 0.89), plain([3]float64{45, 45, 48}, 4))
	// Street furniture.
	fill(rect(0.04, 0.50, 0.13, 0.58), plain([3]float64{150, 155, 160}, 10)) // planter
	bush := func(x, y int) [3]float64 {
		g := jitter(hash(uint32(x/max(1, line*2)), uint32(y/max(1, line*2)), 11), 30)
		return [3]float64{40 + g/2, 110 + g, 60 + g/2}
	}
	fill(rect(0.045, 0.43, 0.125, 0.50), bush)
	fill(rect(0.178, 0.12, 0.178+6*s/float64(W), 0.80), plain([3]float64{60, 65, 55}, 5)) // lamp post
	fill(rect(0.168, 0.78, 0.188+6*s/float64(W), 0.80), plain([3]float64{55, 60, 50}, 5))
	fill(rect(0.16, 0.11, 0.20, 0.13), plain([3]float64{70, 75, 65}, 5))
	fill(rect(0.72, 0.47, 0.84, 0.49), plain([3]float64{50, 90, 130}, 12))   // bench back
	fill(rect(0.72, 0.515, 0.84, 0.535), plain([3]float64{50, 90, 130}, 12)) // bench seat
	for _, lx := range []float64{0.73, 0.825} {
		fill(rect(lx, 0.49, lx+0.008, 0.56), plain([3]float64{40, 40, 42}, 4))
	}
	fill(rect(0.40, 0.44, 0.43, 0.50), plain([3]float64{45, 75, 40}, 8)) // bin
	for bx := 0.06; bx < 1; bx += 0.12 {
		fill(rect(bx, 0.80, bx+10*s/float64(W), 0.855), plain([3]float64{70, 70, 72}, 5)) // bollards
		fill(rect(bx, 0.81, bx+10*s/float64(W), 0.82), plain([3]float64{200, 200, 200}, 4))
	}
	return m
}
