// Package region turns motion boxes into the crops sent to the detector:
// nearby boxes are clustered, each cluster becomes a square region at least
// as large as the detector's input (so a small, distant object is seen at
// full resolution instead of shrunk with the whole frame), and the region is
// cut from the full-resolution frame and JPEG-encoded.
package region

import (
	"errors"
	"fmt"
	"image"
	"sort"

	"gocv.io/x/gocv"
)

// Config tunes clustering and encoding. Zero fields take the defaults in
// brackets.
type Config struct {
	// MinSize is the smallest side of a region, normally the detector's input
	// size [320].
	MinSize int
	// Grow is the factor by which boxes are enlarged (about their centre)
	// before deciding whether they touch [1.35].
	Grow float64
	// MaxRegions caps the regions per frame, largest first [4].
	MaxRegions int
	// Quality is the JPEG quality, 1–100 [90].
	Quality int
}

func (c Config) withDefaults() Config {
	if c.MinSize == 0 {
		c.MinSize = 320
	}
	if c.Grow == 0 {
		c.Grow = 1.35
	}
	if c.MaxRegions == 0 {
		c.MaxRegions = 4
	}
	if c.Quality == 0 {
		c.Quality = 90
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	if c.MinSize < 0 || c.Grow < 0 || c.MaxRegions < 0 || c.Quality < 0 || c.Quality > 100 {
		return errors.New("region: min size, grow and max regions must be ≥ 0, quality in [1, 100]")
	}
	return nil
}

// Regions clusters boxes (full-frame pixels) of a frame of the given size
// into at most MaxRegions regions, largest first. Each region contains its
// boxes, is square with a side of at least MinSize where the frame allows,
// and lies inside the frame.
func Regions(boxes []image.Rectangle, frame image.Point, cfg Config) []image.Rectangle {
	cfg = cfg.withDefaults()
	clusters := cluster(boxes, cfg.Grow)
	out := make([]image.Rectangle, 0, len(clusters))
	for _, c := range clusters {
		out = append(out, square(c, frame, cfg.MinSize))
	}
	out = mergeOverlapping(out, frame, cfg.MinSize)
	sort.SliceStable(out, func(i, j int) bool { return area(out[i]) > area(out[j]) })
	if len(out) > cfg.MaxRegions {
		out = out[:cfg.MaxRegions]
	}
	return out
}

// cluster groups boxes whose grown copies overlap (transitively) and returns
// the bounding box of each group.
func cluster(boxes []image.Rectangle, grow float64) []image.Rectangle {
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

// square returns the square of side max(min, r's longer side) centred on r,
// shifted to lie inside the frame; a side longer than the frame is clipped.
func square(r image.Rectangle, frame image.Point, min int) image.Rectangle {
	side := r.Dx()
	if r.Dy() > side {
		side = r.Dy()
	}
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

// Encoder cuts regions from full-resolution frames and encodes them as JPEG.
type Encoder struct {
	params []int
}

// NewEncoder returns an Encoder with the configuration's JPEG quality.
func NewEncoder(cfg Config) *Encoder {
	cfg = cfg.withDefaults()
	return &Encoder{params: []int{gocv.IMWriteJpegQuality, cfg.Quality}}
}

// Encode returns the JPEG of region r of frame. The bytes are the caller's.
func (e *Encoder) Encode(frame gocv.Mat, r image.Rectangle) ([]byte, error) {
	if !r.In(image.Rect(0, 0, frame.Cols(), frame.Rows())) || r.Empty() {
		return nil, fmt.Errorf("region: %v is not inside the %dx%d frame", r, frame.Cols(), frame.Rows())
	}
	crop := frame.Region(r)
	defer crop.Close()
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, crop, e.params)
	if err != nil {
		return nil, fmt.Errorf("region: encode: %w", err)
	}
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...), nil
}
