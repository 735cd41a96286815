// Package motion is the motion gate: it decides, on a small grey copy of each
// analysed frame, whether anything moved and where.
//
// The method follows Frigate's improved motion detector: the frame is shrunk
// to about 100 pixels high and turned grey, its contrast is stretched between
// the 4th and 96th percentiles (averaged over the last 50 frames), masked
// areas are ignored, it is blurred (σ = 1) and compared with a running-average
// background. Pixels that differ by more than the threshold (30) are dilated
// into blobs and the blobs larger than the minimum area become motion boxes.
// When most of the frame changes at once (lights switched on, the sun out of
// a cloud, the camera's IR mode) the gate recalibrates instead of reporting
// motion, and stays quiet until the scene is stable again.
//
// A changed area that then stays still — a person who stood long enough to
// be learnt into the background and walked away, leaving a "ghost" of the
// pavement they hid, or a parked car — is learnt into the background at once
// after StillFrames analysed frames without change, so a ghost does not
// report motion for the many seconds the slow running average would need.
package motion

import (
	"errors"
	"image"
	"image/color"
	"math"

	"gocv.io/x/gocv"
)

// Config tunes the gate. Zero fields take the defaults in brackets.
type Config struct {
	// Height is the height of the analysed grey frame in pixels [100].
	Height int
	// Threshold is the grey-level difference that counts as change [30].
	Threshold float32
	// MinArea is the smallest blob, in pixels of the small frame, that counts
	// as motion [10].
	MinArea float64
	// Alpha is the background's learning rate [0.01].
	Alpha float64
	// CalibrationAlpha is the learning rate while calibrating [0.2].
	CalibrationAlpha float64
	// LightingChange is the fraction of the frame that, changing at once,
	// means a change of lighting rather than motion [0.8].
	LightingChange float64
	// CalibratedBelow is the fraction of changed pixels under which the gate
	// counts as calibrated again [0.05].
	CalibratedBelow float64
	// CalibratedMaxBoxes is the most boxes a calibrated frame may have [4].
	CalibratedMaxBoxes int
	// CalibrationFrames is the most frames the gate calibrates for: a
	// scene that is never quiet (a crowded square) would otherwise keep it
	// calibrating, and blind, for good [15: 3 s at 5 fps].
	CalibrationFrames int
	// BlendAfter is the number of consecutive frames with motion after which
	// moving areas are blended into the background too [10].
	BlendAfter int
	// ContrastFrames is the number of frames the percentiles are averaged
	// over [50].
	ContrastFrames int
	// StillFrames is the number of consecutive analysed frames a changed
	// pixel must stay unchanged before it is learnt into the background
	// [8: 1.6 s at 5 fps]; negative never learns still areas early.
	StillFrames int
	// Masks are polygons to ignore, each point in normalised frame
	// coordinates: [0,0] is the top-left corner, [1,1] the bottom-right one.
	Masks []Polygon
}

// Polygon is a closed polygon in normalised frame coordinates.
type Polygon [][2]float64

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.Height < 0 || c.Threshold < 0 || c.MinArea < 0 || c.Alpha < 0 || c.Alpha > 1 ||
		c.CalibrationAlpha < 0 || c.CalibrationAlpha > 1 || c.LightingChange < 0 || c.LightingChange > 1 {
		return errors.New("motion: height, threshold, min area must be ≥ 0; alpha values and lighting change in [0, 1]")
	}
	for _, p := range c.Masks {
		if len(p) < 3 {
			return errors.New("motion: a mask polygon needs at least 3 points")
		}
		for _, pt := range p {
			if pt[0] < 0 || pt[0] > 1 || pt[1] < 0 || pt[1] > 1 {
				return errors.New("motion: mask points are normalised coordinates in [0, 1]")
			}
		}
	}
	return nil
}

func (c Config) withDefaults() Config {
	def := func(v *float64, d float64) {
		if *v == 0 {
			*v = d
		}
	}
	if c.Height == 0 {
		c.Height = 100
	}
	if c.Threshold == 0 {
		c.Threshold = 30
	}
	def(&c.MinArea, 10)
	def(&c.Alpha, 0.01)
	def(&c.CalibrationAlpha, 0.2)
	def(&c.LightingChange, 0.8)
	def(&c.CalibratedBelow, 0.05)
	if c.CalibratedMaxBoxes == 0 {
		c.CalibratedMaxBoxes = 4
	}
	if c.CalibrationFrames == 0 {
		c.CalibrationFrames = 15
	}
	if c.BlendAfter == 0 {
		c.BlendAfter = 10
	}
	if c.ContrastFrames == 0 {
		c.ContrastFrames = 50
	}
	if c.StillFrames == 0 {
		c.StillFrames = 8
	}
	return c
}

// Result is the gate's verdict on one frame.
type Result struct {
	// Boxes are the motion boxes in full-frame pixels; empty when nothing
	// moved or while calibrating.
	Boxes []image.Rectangle
	// Edges says how far motion reaches into the frame from each edge:
	// where people come into view, and how far in they are.
	Edges [4]Depths
	// Changed is the fraction of analysed pixels that changed.
	Changed float64
	// Recalibrated is true when this frame was a global lighting change.
	Recalibrated bool
	// Calibrating is true while the background is being relearnt.
	Calibrating bool
}

// Gate is the motion gate of one camera. It is not safe for concurrent use.
type Gate struct {
	cfg Config

	frameSize image.Point // full frame size the buffers were made for
	small     image.Point // analysed frame size

	half, resized, grey, blurred, background, background8, diff, thresh, dilated, notMoving, keep, kernel gocv.Mat
	keepPixels                                                                                            int

	previous []uint8 // the previous analysed frame, blurred
	still    []uint8 // per pixel: consecutive frames changed from the background but not from the previous frame

	lows, highs []float64 // percentile history (ring buffers)
	next        int
	filled      int
	lut         [256]uint8

	haveBackground bool
	calibrating    bool
	calibrated     int // frames calibrated for so far
	motionFrames   int
}

// New returns a gate with the given configuration; Close releases it.
func New(cfg Config) (*Gate, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	g := &Gate{cfg: cfg,
		half: gocv.NewMat(), resized: gocv.NewMat(), grey: gocv.NewMat(), blurred: gocv.NewMat(), background: gocv.NewMat(),
		background8: gocv.NewMat(), diff: gocv.NewMat(), thresh: gocv.NewMat(), dilated: gocv.NewMat(),
		notMoving: gocv.NewMat(), keep: gocv.NewMat(),
		kernel: gocv.GetStructuringElement(gocv.MorphRect, image.Pt(3, 3)),
		lows:   make([]float64, cfg.ContrastFrames), highs: make([]float64, cfg.ContrastFrames),
	}
	return g, nil
}

// Close releases the gate's buffers.
func (g *Gate) Close() error {
	for _, m := range []*gocv.Mat{&g.half, &g.resized, &g.grey, &g.blurred, &g.background, &g.background8, &g.diff,
		&g.thresh, &g.dilated, &g.notMoving, &g.keep, &g.kernel} {
		m.Close()
	}
	return nil
}

// SmallSize returns the size of the analysed grey frame for a full frame of
// the given size.
func (g *Gate) SmallSize(frame image.Point) image.Point {
	h := g.cfg.Height
	if frame.Y < h {
		h = frame.Y
	}
	w := int(math.Round(float64(h) * float64(frame.X) / float64(frame.Y)))
	if w < 1 {
		w = 1
	}
	return image.Pt(w, h)
}

// Detect runs the gate on one full-resolution BGR (or grey) frame.
func (g *Gate) Detect(frame gocv.Mat) Result {
	size := image.Pt(frame.Cols(), frame.Rows())
	if size.X == 0 || size.Y == 0 {
		return Result{}
	}
	if size != g.frameSize {
		g.reset(size)
	}
	lo, hi := g.prepare(frame)
	if !g.haveBackground {
		g.blurred.ConvertTo(&g.background, gocv.MatTypeCV32F)
		g.haveBackground = true
		g.calibrating, g.calibrated = true, 0
		g.remember()
		return Result{Calibrating: true}
	}
	defer g.remember()

	g.background.ConvertTo(&g.background8, gocv.MatTypeCV8U)
	gocv.AbsDiff(g.blurred, g.background8, &g.diff)
	gocv.Threshold(g.diff, &g.thresh, g.cfg.Threshold, 255, gocv.ThresholdBinary)
	if !g.keep.Empty() {
		gocv.BitwiseAnd(g.thresh, g.keep, &g.thresh)
	}
	changed := float64(gocv.CountNonZero(g.thresh)) / float64(g.keepPixels)

	if changed > g.cfg.LightingChange {
		// A change of lighting: restart the contrast history at this frame,
		// re-prepare it, and make it the new background.
		g.filled = 0
		g.prepareWith(frame, lo, hi, true)
		g.blurred.ConvertTo(&g.background, gocv.MatTypeCV32F)
		g.calibrating, g.calibrated = true, 0
		g.motionFrames = 0
		return Result{Changed: changed, Recalibrated: true, Calibrating: true}
	}

	g.learnStill()
	gocv.Dilate(g.thresh, &g.dilated, g.kernel)
	boxes := g.boxes(size)

	if g.calibrating {
		gocv.AccumulatedWeighted(g.blurred, &g.background, g.cfg.CalibrationAlpha)
		g.calibrated++
		if changed < g.cfg.CalibratedBelow && len(boxes) <= g.cfg.CalibratedMaxBoxes || g.calibrated >= g.cfg.CalibrationFrames {
			g.calibrating = false
		}
		return Result{Changed: changed, Calibrating: true}
	}

	if len(boxes) == 0 {
		g.motionFrames = 0
		gocv.AccumulatedWeighted(g.blurred, &g.background, g.cfg.Alpha)
		return Result{Changed: changed}
	}
	g.motionFrames++
	if g.motionFrames >= g.cfg.BlendAfter {
		gocv.AccumulatedWeighted(g.blurred, &g.background, g.cfg.Alpha)
	} else {
		// Keep learning the still parts of the scene only.
		gocv.BitwiseNot(g.dilated, &g.notMoving)
		gocv.AccumulatedWeightedWithMask(g.blurred, &g.background, g.cfg.Alpha, g.notMoving)
	}
	return Result{Boxes: boxes, Changed: changed, Edges: g.edges(size)}
}

// learnStill counts, per pixel, the analysed frames it has not changed
// since the previous one, and copies the changed pixels of g.thresh that have
// been still for StillFrames into the background and out of g.thresh: what
// stopped changing is scenery, not motion. A pixel that flickers across the
// threshold, as the edges of a ghost do under codec noise, keeps its count;
// only a real change restarts it.
func (g *Gate) learnStill() {
	if g.cfg.StillFrames < 0 || len(g.previous) == 0 {
		return
	}
	thresh, _ := g.thresh.DataPtrUint8()
	blurred, _ := g.blurred.DataPtrUint8()
	bg, _ := g.background.DataPtrFloat32()
	limit := g.cfg.StillFrames
	steady := int(g.cfg.Threshold / 2)
	for i, t := range thresh {
		if d := int(blurred[i]) - int(g.previous[i]); d > steady || d < -steady {
			g.still[i] = 0
			continue
		}
		if g.still[i] < 255 {
			g.still[i]++
		}
		if t != 0 && int(g.still[i]) >= limit {
			bg[i] = float32(blurred[i])
			thresh[i] = 0
		}
	}
}

// remember keeps a copy of the blurred frame for the next learnStill.
func (g *Gate) remember() {
	pix, _ := g.blurred.DataPtrUint8()
	if len(g.previous) != len(pix) {
		g.previous = make([]uint8, len(pix))
		g.still = make([]uint8, len(pix))
	}
	copy(g.previous, pix)
}

// Edge names an edge of the frame.
type Edge int

// The edges of a frame.
const (
	Top Edge = iota
	Bottom
	Left
	Right
)

// Depths is how far motion reaches into the frame from one edge: for each
// position along the edge (Step full-frame pixels apart), the depth in
// full-frame pixels of the motion that touches the edge there.
type Depths struct {
	Edge  Edge
	Step  float64
	Depth []int
}

// edges returns the depth profiles of motion along the four edges of the
// dilated mask, scaled to full-frame pixels: how far in someone coming into
// view already is.
func (g *Gate) edges(full image.Point) [4]Depths {
	pix, _ := g.dilated.DataPtrUint8()
	w, h := g.small.X, g.small.Y
	sx, sy := float64(full.X)/float64(w), float64(full.Y)/float64(h)
	out := [4]Depths{{Top, sx, nil}, {Bottom, sx, nil}, {Left, sy, nil}, {Right, sy, nil}}
	if len(pix) < w*h || w == 0 || h == 0 {
		return out
	}
	// Motion that stops a pixel or two short of the edge still touches it:
	// codecs blur the last rows (1080 is padded to 1088 for H.264).
	const slack = 2
	depth := func(n int, at func(k int) uint8, scale float64) int {
		k := 0
		for k < slack && k < n && at(k) == 0 {
			k++
		}
		if k == n || at(k) == 0 {
			return 0
		}
		for k < n && at(k) != 0 {
			k++
		}
		return int(float64(k) * scale)
	}
	for e := range out {
		n := w
		if e >= int(Left) {
			n = h
		}
		d := make([]int, n)
		for i := range d {
			switch Edge(e) {
			case Top:
				d[i] = depth(h/2, func(k int) uint8 { return pix[k*w+i] }, sy)
			case Bottom:
				d[i] = depth(h/2, func(k int) uint8 { return pix[(h-1-k)*w+i] }, sy)
			case Left:
				d[i] = depth(w/2, func(k int) uint8 { return pix[i*w+k] }, sx)
			case Right:
				d[i] = depth(w/2, func(k int) uint8 { return pix[i*w+w-1-k] }, sx)
			}
		}
		out[e].Depth = d
	}
	return out
}

// reset makes the buffers for a new frame size and forgets the background.
func (g *Gate) reset(size image.Point) {
	g.frameSize = size
	g.small = g.SmallSize(size)
	g.haveBackground = false
	g.filled, g.next, g.motionFrames = 0, 0, 0
	g.previous, g.still = nil, nil
	g.keep.Close()
	g.keep = gocv.NewMat()
	g.keepPixels = g.small.X * g.small.Y
	if len(g.cfg.Masks) == 0 {
		return
	}
	g.keep.Close()
	g.keep = gocv.NewMatWithSizeFromScalar(gocv.NewScalar(255, 0, 0, 0), g.small.Y, g.small.X, gocv.MatTypeCV8U)
	pts := make([][]image.Point, 0, len(g.cfg.Masks))
	for _, poly := range g.cfg.Masks {
		p := make([]image.Point, len(poly))
		for i, v := range poly {
			p[i] = image.Pt(int(math.Round(v[0]*float64(g.small.X))), int(math.Round(v[1]*float64(g.small.Y))))
		}
		pts = append(pts, p)
	}
	pv := gocv.NewPointsVectorFromPoints(pts)
	defer pv.Close()
	gocv.FillPoly(&g.keep, pv, color.RGBA{})
	g.keepPixels = gocv.CountNonZero(g.keep)
	if g.keepPixels == 0 {
		g.keepPixels = 1
	}
}

// prepare shrinks, greys, stretches and blurs the frame into g.blurred and
// returns the frame's own percentiles.
func (g *Gate) prepare(frame gocv.Mat) (lo, hi float64) {
	g.shrink(frame)
	pix, _ := g.grey.DataPtrUint8()
	lo, hi = percentiles(pix, 0.04, 0.96)
	g.prepareWith(frame, lo, hi, false)
	return lo, hi
}

// shrink resizes the frame to the analysed size and makes it grey, into
// g.grey. A large frame is first sampled bilinearly to twice the analysed
// size, then averaged 2:1 (INTER_AREA): nearly the anti-aliasing of a direct
// INTER_AREA resize for a fraction of its cost (on 1080p, about 0.2 ms
// against 2–10 ms on this kind of machine).
func (g *Gate) shrink(frame gocv.Mat) {
	if frame.Cols() > 4*g.small.X {
		gocv.Resize(frame, &g.half, g.small.Mul(2), 0, 0, gocv.InterpolationLinear)
		gocv.Resize(g.half, &g.resized, g.small, 0, 0, gocv.InterpolationArea)
	} else {
		gocv.Resize(frame, &g.resized, g.small, 0, 0, gocv.InterpolationArea)
	}
	if g.resized.Channels() == 3 {
		gocv.CvtColor(g.resized, &g.grey, gocv.ColorBGRToGray)
	} else {
		g.resized.CopyTo(&g.grey)
	}
}

// prepareWith records (lo, hi) in the history, stretches g.grey between the
// averaged percentiles and blurs it. When again is true the grey frame has
// already been stretched once and is rebuilt from the frame first.
func (g *Gate) prepareWith(frame gocv.Mat, lo, hi float64, again bool) {
	if again {
		g.shrink(frame)
	}
	g.lows[g.next], g.highs[g.next] = lo, hi
	g.next = (g.next + 1) % len(g.lows)
	if g.filled < len(g.lows) {
		g.filled++
	}
	var sumLo, sumHi float64
	for i := 0; i < g.filled; i++ {
		j := (g.next - 1 - i + len(g.lows)) % len(g.lows)
		sumLo += g.lows[j]
		sumHi += g.highs[j]
	}
	aLo, aHi := sumLo/float64(g.filled), sumHi/float64(g.filled)
	if aHi-aLo < 1 {
		aHi = aLo + 1
	}
	for v := 0; v < 256; v++ {
		s := (float64(v) - aLo) * 255 / (aHi - aLo)
		g.lut[v] = uint8(math.Max(0, math.Min(255, math.Round(s))))
	}
	pix, _ := g.grey.DataPtrUint8()
	for i, v := range pix {
		pix[i] = g.lut[v]
	}
	gocv.GaussianBlur(g.grey, &g.blurred, image.Pt(0, 0), 1, 1, gocv.BorderDefault)
}

// boxes returns the bounding boxes of the blobs in g.dilated larger than the
// minimum area, scaled to full-frame pixels.
func (g *Gate) boxes(full image.Point) []image.Rectangle {
	contours := gocv.FindContours(g.dilated, gocv.RetrievalExternal, gocv.ChainApproxSimple)
	defer contours.Close()
	sx := float64(full.X) / float64(g.small.X)
	sy := float64(full.Y) / float64(g.small.Y)
	var out []image.Rectangle
	for i := 0; i < contours.Size(); i++ {
		c := contours.At(i)
		if gocv.ContourArea(c) <= g.cfg.MinArea {
			continue
		}
		r := gocv.BoundingRect(c)
		b := image.Rect(int(float64(r.Min.X)*sx), int(float64(r.Min.Y)*sy),
			int(math.Ceil(float64(r.Max.X)*sx)), int(math.Ceil(float64(r.Max.Y)*sy)))
		out = append(out, b.Intersect(image.Rectangle{Max: full}))
	}
	return out
}

// percentiles returns the grey levels below which fractions p and q of the
// pixels lie.
func percentiles(pix []uint8, p, q float64) (lo, hi float64) {
	var hist [256]int
	for _, v := range pix {
		hist[v]++
	}
	n := float64(len(pix))
	loAt, hiAt := p*n, q*n
	cum := 0
	lo, hi = -1, 255
	for v, c := range hist {
		cum += c
		if lo < 0 && float64(cum) >= loAt {
			lo = float64(v)
		}
		if float64(cum) >= hiAt {
			hi = float64(v)
			break
		}
	}
	if lo < 0 {
		lo = 0
	}
	return lo, hi
}
