// Package region turns motion boxes into the images sent to the detector.
//
// Nearby boxes are clustered, and each cluster becomes a square region at
// least as large as the detector's input, so that a small, distant object is
// seen at full resolution instead of shrunk with the whole frame. A region
// larger than the detector's input is scaled down to it before encoding: the
// detector would shrink it anyway, so the extra pixels would only cost bytes
// and CPU. When the regions of a frame would cover most of it (or there are
// more of them than a frame may send), the whole frame is sent once instead,
// letterboxed to the detector's input size.
package region

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"sort"

	"gocv.io/x/gocv"
)

// Config tunes clustering and encoding. Zero fields take the defaults in
// brackets.
type Config struct {
	// MinSize is the detector's input size: the smallest side of a region,
	// and the longest side of every image sent [416].
	MinSize int
	// Grow is the factor by which boxes are enlarged (about their centre)
	// before deciding whether they touch [1.35].
	Grow float64
	// MaxRegions is the most crops a frame sends; a frame that would need
	// more sends the whole frame instead [4].
	MaxRegions int
	// FullFrameAbove is the fraction of the frame which, covered by a
	// frame's regions, makes it send the whole frame instead [0.4]; 1 never
	// sends whole frames for coverage.
	FullFrameAbove float64
	// Quality is the JPEG quality, 1–100 [80].
	Quality int
}

// DefaultQuality is the JPEG quality of the images sent. At 80 a detector's
// accuracy is within noise of the uncompressed image (blocking appears below
// about 50), while the bytes are about half those of quality 90.
const DefaultQuality = 80

func (c Config) withDefaults() Config {
	if c.MinSize == 0 {
		c.MinSize = 416
	}
	if c.Grow == 0 {
		c.Grow = 1.35
	}
	if c.MaxRegions == 0 {
		c.MaxRegions = 4
	}
	if c.FullFrameAbove == 0 {
		c.FullFrameAbove = 0.4
	}
	if c.Quality == 0 {
		c.Quality = DefaultQuality
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.MinSize < 0 || c.Grow < 0 || c.MaxRegions < 0 || c.Quality < 0 || c.Quality > 100 ||
		c.FullFrameAbove < 0 || c.FullFrameAbove > 1 {
		return errors.New("region: min size, grow and max regions must be ≥ 0, quality in [1, 100], full frame above in [0, 1]")
	}
	return nil
}

// Plan is what one frame sends: either the whole frame, letterboxed, or the
// regions (full-frame pixels), largest first.
type Plan struct {
	// Full is true when the whole frame is sent once.
	Full bool
	// Regions are the crops to send when Full is false.
	Regions []image.Rectangle
}

// Empty reports whether the plan sends nothing.
func (p Plan) Empty() bool { return !p.Full && len(p.Regions) == 0 }

// PlanFrame decides what a frame of the given size sends for the boxes
// (full-frame pixels): the regions of Regions, or the whole frame when they
// would cover more than FullFrameAbove of it or be more than MaxRegions.
func PlanFrame(boxes []image.Rectangle, frame image.Point, cfg Config) Plan {
	cfg = cfg.withDefaults()
	rs := regions(boxes, frame, cfg)
	if len(rs) == 0 {
		return Plan{}
	}
	if len(rs) > cfg.MaxRegions || float64(unionArea(rs)) > cfg.FullFrameAbove*float64(frame.X*frame.Y) {
		return Plan{Full: true}
	}
	return Plan{Regions: rs}
}

// Regions clusters boxes (full-frame pixels) of a frame of the given size
// into at most MaxRegions regions, largest first. Each region contains its
// boxes, is square with a side of at least MinSize where the frame allows,
// and lies inside the frame.
func Regions(boxes []image.Rectangle, frame image.Point, cfg Config) []image.Rectangle {
	cfg = cfg.withDefaults()
	out := regions(boxes, frame, cfg)
	if len(out) > cfg.MaxRegions {
		out = out[:cfg.MaxRegions]
	}
	return out
}

func regions(boxes []image.Rectangle, frame image.Point, cfg Config) []image.Rectangle {
	clusters := Cluster(boxes, cfg.Grow)
	out := make([]image.Rectangle, 0, len(clusters))
	for _, c := range clusters {
		out = append(out, square(c, frame, cfg.MinSize))
	}
	out = mergeOverlapping(out, frame, cfg.MinSize)
	sort.SliceStable(out, func(i, j int) bool { return area(out[i]) > area(out[j]) })
	return out
}

// unionArea returns the area covered by the rectangles, overlaps counted
// once.
func unionArea(rs []image.Rectangle) int {
	xs := make([]int, 0, 2*len(rs))
	for _, r := range rs {
		xs = append(xs, r.Min.X, r.Max.X)
	}
	sort.Ints(xs)
	total := 0
	for i := 0; i+1 < len(xs); i++ {
		x0, x1 := xs[i], xs[i+1]
		if x0 == x1 {
			continue
		}
		var spans [][2]int
		for _, r := range rs {
			if r.Min.X <= x0 && r.Max.X >= x1 {
				spans = append(spans, [2]int{r.Min.Y, r.Max.Y})
			}
		}
		sort.Slice(spans, func(a, b int) bool { return spans[a][0] < spans[b][0] })
		covered, end := 0, math.MinInt
		for _, sp := range spans {
			if sp[0] > end {
				covered += sp[1] - sp[0]
				end = sp[1]
			} else if sp[1] > end {
				covered += sp[1] - end
				end = sp[1]
			}
		}
		total += covered * (x1 - x0)
	}
	return total
}

// Blobs clusters the motion boxes of a frame as regions do (Grow): the
// fragments of one moving thing become one blob.
func Blobs(boxes []image.Rectangle, cfg Config) []image.Rectangle {
	return Cluster(boxes, cfg.withDefaults().Grow)
}

// Cluster groups boxes whose copies grown by the factor grow overlap
// (transitively) and returns the bounding box of each group.
func Cluster(boxes []image.Rectangle, grow float64) []image.Rectangle {
	parent := make([]int, len(boxes))
	for i := range parent {
		parent[i] = i
	}
	find := func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	grown := make([]image.Rectangle, len(boxes))
	for i, b := range boxes {
		grown[i] = scale(b, grow)
	}
	for i := range boxes {
		for j := i + 1; j < len(boxes); j++ {
			if grown[i].Overlaps(grown[j]) {
				parent[find(i)] = find(j)
			}
		}
	}
	groups := map[int]image.Rectangle{}
	order := []int{}
	for i, b := range boxes {
		r := find(i)
		if g, ok := groups[r]; ok {
			groups[r] = g.Union(b)
		} else {
			groups[r] = b
			order = append(order, r)
		}
	}
	out := make([]image.Rectangle, 0, len(groups))
	for _, r := range order {
		out = append(out, groups[r])
	}
	return out
}

// mergeOverlapping joins regions that overlap once squared, until none do.
func mergeOverlapping(rs []image.Rectangle, frame image.Point, min int) []image.Rectangle {
	for merged := true; merged; {
		merged = false
		for i := 0; i < len(rs) && !merged; i++ {
			for j := i + 1; j < len(rs); j++ {
				if rs[i].Overlaps(rs[j]) {
					rs[i] = square(rs[i].Union(rs[j]), frame, min)
					rs = append(rs[:j], rs[j+1:]...)
					merged = true
					break
				}
			}
		}
	}
	return rs
}

// scale grows r by factor f about its centre.
func scale(r image.Rectangle, f float64) image.Rectangle {
	c := r.Min.Add(r.Max).Div(2)
	hw := int(float64(r.Dx())*f/2 + 0.5)
	hh := int(float64(r.Dy())*f/2 + 0.5)
	return image.Rect(c.X-hw, c.Y-hh, c.X+hw, c.Y+hh)
}

// context is how much larger than its boxes a region is, so that what moved
// is seen with some of its surroundings and whole even where the small
// frame's boxes fall a little short.
const context = 1.2

// square returns the square of side max(min, context × r's longer side)
// centred on r, shifted to lie inside the frame; a side longer than the
// frame is clipped.
func square(r image.Rectangle, frame image.Point, min int) image.Rectangle {
	side := int(math.Ceil(context * float64(max(r.Dx(), r.Dy()))))
	if side < min {
		side = min
	}
	w, h := side, side
	if w > frame.X {
		w = frame.X
	}
	if h > frame.Y {
		h = frame.Y
	}
	c := r.Min.Add(r.Max).Div(2)
	x := clamp(c.X-w/2, 0, frame.X-w)
	y := clamp(c.Y-h/2, 0, frame.Y-h)
	return image.Rect(x, y, x+w, y+h)
}

func clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

func area(r image.Rectangle) int { return r.Dx() * r.Dy() }

// Encoder cuts regions from full-resolution frames, scales them down to the
// detector's input size where they are larger, and encodes them as JPEG. It
// reuses its buffers, so it is not safe for concurrent use; Close releases
// them.
type Encoder struct {
	input  int
	params []int
	small  gocv.Mat // a scaled-down region or frame
	boxed  gocv.Mat // the letterboxed frame
}

// NewEncoder returns an Encoder with the configuration's input size and JPEG
// quality.
func NewEncoder(cfg Config) *Encoder {
	cfg = cfg.withDefaults()
	return &Encoder{input: cfg.MinSize, params: []int{gocv.IMWriteJpegQuality, cfg.Quality},
		small: gocv.NewMat(), boxed: gocv.NewMat()}
}

// Close releases the encoder's buffers.
func (e *Encoder) Close() error {
	return errors.Join(e.small.Close(), e.boxed.Close())
}

// Encode returns the JPEG of region r of frame, scaled down so that its
// longer side is at most the detector's input size. The bytes are the
// caller's.
func (e *Encoder) Encode(frame gocv.Mat, r image.Rectangle) ([]byte, error) {
	if !r.In(image.Rect(0, 0, frame.Cols(), frame.Rows())) || r.Empty() {
		return nil, fmt.Errorf("region: %v is not inside the %dx%d frame", r, frame.Cols(), frame.Rows())
	}
	crop := frame.Region(r)
	defer crop.Close()
	if size := FitSize(r.Size(), e.input); size != r.Size() {
		gocv.Resize(crop, &e.small, size, 0, 0, gocv.InterpolationArea)
		return e.encode(e.small)
	}
	return e.encode(crop)
}

// EncodeFull returns the JPEG of the whole frame letterboxed into a square of
// the detector's input size: scaled (never up) to fit, at the top-left
// corner, padded with grey at the right or bottom. It also returns the
// region of frame pixels the square image stands for: (0, 0) to the longer
// side of the frame in both directions (part of it past the frame's edge),
// so that image pixels map to frame pixels by one scale, as for any region.
func (e *Encoder) EncodeFull(frame gocv.Mat) ([]byte, image.Rectangle, error) {
	fs := image.Pt(frame.Cols(), frame.Rows())
	if fs.X == 0 || fs.Y == 0 {
		return nil, image.Rectangle{}, errors.New("region: empty frame")
	}
	side := max(fs.X, fs.Y)
	out := min(side, e.input)
	content := image.Pt(max(1, int(math.Round(float64(fs.X)*float64(out)/float64(side)))),
		max(1, int(math.Round(float64(fs.Y)*float64(out)/float64(side)))))
	src := frame
	if content != fs {
		gocv.Resize(frame, &e.small, content, 0, 0, gocv.InterpolationArea)
		src = e.small
	}
	gocv.CopyMakeBorder(src, &e.boxed, 0, out-content.Y, 0, out-content.X, gocv.BorderConstant, color.RGBA{R: 114, G: 114, B: 114})
	jpeg, err := e.encode(e.boxed)
	return jpeg, image.Rect(0, 0, side, side), err
}

func (e *Encoder) encode(m gocv.Mat) ([]byte, error) {
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, m, e.params)
	if err != nil {
		return nil, fmt.Errorf("region: encode: %w", err)
	}
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...), nil
}

// FitSize returns size scaled down, keeping its aspect ratio, so that its
// longer side is at most limit; a size within the limit is returned as it is.
func FitSize(size image.Point, limit int) image.Point {
	long := max(size.X, size.Y)
	if limit <= 0 || long <= limit {
		return size
	}
	f := float64(limit) / float64(long)
	return image.Pt(max(1, int(math.Round(float64(size.X)*f))), max(1, int(math.Round(float64(size.Y)*f))))
}
