// Package samplevideo writes synthetic camera clips: a static, textured scene
// with an optional moving object, an optional sudden change of lighting and
// an optional truncation. Tests, benchmarks and the local runner use it to get
// real video files without shipping any.
package samplevideo

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"

	"gocv.io/x/gocv"
)

// Scene describes a clip. The zero value of every optional field leaves that
// feature out.
type Scene struct {
	// Width and Height are the frame size in pixels (default 320×240).
	Width, Height int
	// FPS is the clip's frame rate (default 25).
	FPS float64
	// Frames is the number of frames written (default 50).
	Frames int
	// Codec is the FourCC of the encoder (default "MJPG"; "avc1", "mp4v" and
	// "XVID" also work with Debian's OpenCV).
	Codec string
	// Object makes a dark square walk across the scene from left to right,
	// one step per frame, on the middle row.
	Object bool
	// ObjectSize is the side of the square in pixels (default Height/6).
	ObjectSize int
	// ObjectStart is the first frame in which the object is visible.
	ObjectStart int
	// ObjectColor, when set (alpha ≠ 0), makes the object one solid square
	// of this colour (pure blue, for instance, is a knife to detect's
	// colour-pattern demo model); otherwise it is a dark square with a red
	// centre.
	ObjectColor color.RGBA
	// LightStepAt, when positive, brightens the whole frame by LightStep from
	// that frame on (a sudden global change of lighting).
	LightStepAt int
	// LightStep is the brightness added at LightStepAt (default 60).
	LightStep float64
	// Noise, when positive, adds fresh Gaussian noise of this standard
	// deviation (grey levels) to every frame, as a camera sensor does.
	Noise float64
}

func (s Scene) withDefaults() Scene {
	if s.Width == 0 {
		s.Width = 320
	}
	if s.Height == 0 {
		s.Height = 240
	}
	if s.FPS == 0 {
		s.FPS = 25
	}
	if s.Frames == 0 {
		s.Frames = 50
	}
	if s.Codec == "" {
		s.Codec = "MJPG"
	}
	if s.ObjectSize == 0 {
		s.ObjectSize = s.Height / 6
	}
	if s.LightStep == 0 {
		s.LightStep = 60
	}
	return s
}

// ObjectBox returns where the moving object is in frame i, and false when it
// is not visible in that frame.
func (s Scene) ObjectBox(i int) (image.Rectangle, bool) {
	s = s.withDefaults()
	if !s.Object || i < s.ObjectStart {
		return image.Rectangle{}, false
	}
	span := s.Frames - s.ObjectStart
	if span < 1 {
		span = 1
	}
	travel := s.Width - s.ObjectSize
	x := (i - s.ObjectStart) * travel / span
	y := (s.Height - s.ObjectSize) / 2
	return image.Rect(x, y, x+s.ObjectSize, y+s.ObjectSize), true
}

// Write encodes the clip to path (an .avi for MJPG, .mp4 for avc1/mp4v).
func Write(path string, s Scene) error {
	s = s.withDefaults()
	w, err := gocv.VideoWriterFile(path, s.Codec, s.FPS, s.Width, s.Height, true)
	if err != nil {
		return fmt.Errorf("samplevideo: open writer: %w", err)
	}
	if !w.IsOpened() {
		w.Close()
		return fmt.Errorf("samplevideo: cannot write %s with codec %s", path, s.Codec)
	}
	r := NewRenderer(s)
	defer r.Close()
	frame := gocv.NewMat()
	defer frame.Close()
	for i := 0; i < s.Frames; i++ {
		r.Render(i, &frame)
		if err := w.Write(frame); err != nil {
			w.Close()
			return fmt.Errorf("samplevideo: write frame %d: %w", i, err)
		}
	}
	return w.Close()
}

// Renderer draws the frames of a scene, for writers of other containers or
// live streams (an MJPEG server, for instance).
type Renderer struct {
	scene       Scene
	background  gocv.Mat
	wide, noise gocv.Mat // 16-bit signed buffers for Noise
}

// NewRenderer returns a Renderer of the scene; Close releases it.
func NewRenderer(s Scene) *Renderer {
	s = s.withDefaults()
	return &Renderer{scene: s, background: Background(s.Width, s.Height), wide: gocv.NewMat(),
		noise: gocv.NewMatWithSize(s.Height, s.Width, gocv.MatTypeCV16SC3)}
}

// Close releases the renderer's buffers.
func (r *Renderer) Close() error {
	r.wide.Close()
	r.noise.Close()
	return r.background.Close()
}

// Render draws frame i (BGR) into dst.
func (r *Renderer) Render(i int, dst *gocv.Mat) {
	s := r.scene
	r.background.CopyTo(dst)
	if box, ok := s.ObjectBox(i); ok {
		if s.ObjectColor.A != 0 {
			gocv.Rectangle(dst, box, s.ObjectColor, -1)
		} else {
			gocv.Rectangle(dst, box, color.RGBA{R: 20, G: 20, B: 30}, -1)
			gocv.Rectangle(dst, box.Inset(s.ObjectSize/4), color.RGBA{R: 200, G: 40, B: 40}, -1)
		}
	}
	if s.LightStepAt > 0 && i >= s.LightStepAt {
		dst.ConvertToWithParams(dst, gocv.MatTypeCV8UC3, 1, float32(s.LightStep))
	}
	if s.Noise > 0 {
		dst.ConvertTo(&r.wide, gocv.MatTypeCV16SC3)
		gocv.RandN(&r.noise, gocv.NewScalar(0, 0, 0, 0), gocv.NewScalar(s.Noise, s.Noise, s.Noise, 0))
		gocv.Add(r.wide, r.noise, &r.wide)
		r.wide.ConvertTo(dst, gocv.MatTypeCV8UC3)
	}
}

// Background returns the static scene: a mid-grey gradient with a few
// buildings, a road and fine texture, so that the gate has real structure to
// stretch and compare. The caller closes the Mat.
func Background(width, height int) gocv.Mat {
	m := gocv.NewMatWithSize(height, width, gocv.MatTypeCV8UC3)
	data, _ := m.DataPtrUint8()
	for y := 0; y < height; y++ {
		for x := 0; x < width; x++ {
			v := 70 + 60*y/height + (x*7+y*13)%11
			o := (y*width + x) * 3
			data[o], data[o+1], data[o+2] = uint8(v+10), uint8(v), uint8(v-10)
		}
	}
	u := func(f float64, n int) int { return int(f * float64(n)) }
	gocv.Rectangle(&m, image.Rect(u(0.05, width), u(0.1, height), u(0.2, width), u(0.35, height)), color.RGBA{R: 150, G: 140, B: 120}, -1)
	gocv.Rectangle(&m, image.Rect(u(0.7, width), u(0.05, height), u(0.9, width), u(0.3, height)), color.RGBA{R: 90, G: 110, B: 130}, -1)
	gocv.Rectangle(&m, image.Rect(0, u(0.75, height), width, u(0.85, height)), color.RGBA{R: 60, G: 60, B: 60}, -1)
	return m
}

// Truncate cuts the file at path to the given fraction of its size, as a
// broken upload or a full disk would.
func Truncate(path string, fraction float64) error {
	if fraction <= 0 || fraction >= 1 {
		return errors.New("samplevideo: fraction must be in (0, 1)")
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	return os.Truncate(path, int64(float64(st.Size())*fraction))
}
