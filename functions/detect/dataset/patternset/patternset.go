// Package patternset writes labelled datasets for the colour-pattern model
// (darknet.KindPattern): images of grey background with squares of the
// four pattern colours filling whole cells of the model's 13×13 grid, and
// YOLO label files that place each object on its cell. Because the pattern
// model reports exactly the cell of each square, the right evaluation
// result of such a set is known by construction; tests change the labels
// (shift, swap, add) to get known wrong ones.
package patternset

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgewatch/edgewatch/functions/detect/darknet"
	"github.com/edgewatch/edgewatch/functions/detect/dataset"
)

// Grid is the number of cells per side of the pattern model at its 416-px
// input: each cell is darknet.PatternCell pixels of the network input.
const Grid = 416 / darknet.PatternCell

// Object is one square: class Class's colour filling cell (Col, Row).
type Object struct{ Class, Col, Row int }

// Box returns the object's label: its cell, normalised to the image.
func (o Object) Box() dataset.Box {
	return dataset.Box{Class: o.Class, CX: (float64(o.Col) + 0.5) / Grid, CY: (float64(o.Row) + 0.5) / Grid, W: 1.0 / Grid, H: 1.0 / Grid}
}

// Image is one image of a set.
type Image struct {
	// Name is the file stem: images/Name.jpg and labels/Name.txt.
	Name string
	// Width and Height are multiples of Grid, so that cells are whole pixels.
	Width, Height int
	Objects       []Object
}

// Random returns n images of the given size, each with perImage objects
// of random classes on distinct random cells, from a seeded generator.
func Random(n, perImage, width, height int, seed uint64) []Image {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	out := make([]Image, n)
	for i := range out {
		img := Image{Name: fmt.Sprintf("img%03d", i), Width: width, Height: height}
		for _, cell := range rng.Perm(Grid * Grid)[:perImage] {
			img.Objects = append(img.Objects, Object{Class: rng.IntN(len(darknet.IncidentLabels())), Col: cell % Grid, Row: cell / Grid})
		}
		out[i] = img
	}
	return out
}

// WriteImage writes the image as dir/images/Name.jpg.
func WriteImage(dir string, im Image) error {
	if im.Width%Grid != 0 || im.Height%Grid != 0 || im.Width <= 0 || im.Height <= 0 {
		return fmt.Errorf("patternset: %dx%d is not a multiple of %d", im.Width, im.Height, Grid)
	}
	rgba := image.NewRGBA(image.Rect(0, 0, im.Width, im.Height))
	// Grey gives the pattern model's colour features all zero: no detections.
	draw.Draw(rgba, rgba.Bounds(), image.NewUniform(color.RGBA{R: 128, G: 128, B: 128, A: 255}), image.Point{}, draw.Src)
	cw, ch := im.Width/Grid, im.Height/Grid
	for _, o := range im.Objects {
		c := darknet.PatternColor(o.Class)
		cell := image.Rect(o.Col*cw, o.Row*ch, (o.Col+1)*cw, (o.Row+1)*ch)
		draw.Draw(rgba, cell, image.NewUniform(color.RGBA{R: c[0], G: c[1], B: c[2], A: 255}), image.Point{}, draw.Src)
	}
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "images", im.Name+".jpg"))
	if err != nil {
		return err
	}
	if err := jpeg.Encode(f, rgba, &jpeg.Options{Quality: 95}); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// WriteLabels writes boxes as dir/labels/name.txt.
func WriteLabels(dir, name string, boxes []dataset.Box) error {
	if err := os.MkdirAll(filepath.Join(dir, "labels"), 0o755); err != nil {
		return err
	}
	var b strings.Builder
	for _, x := range boxes {
		fmt.Fprintf(&b, "%d %.6f %.6f %.6f %.6f\n", x.Class, x.CX, x.CY, x.W, x.H)
	}
	return os.WriteFile(filepath.Join(dir, "labels", name+".txt"), []byte(b.String()), 0o644)
}

// Write writes every image and its true labels into dir.
func Write(dir string, images []Image) error {
	for _, im := range images {
		if err := WriteImage(dir, im); err != nil {
			return err
		}
		boxes := make([]dataset.Box, len(im.Objects))
		for i, o := range im.Objects {
			boxes[i] = o.Box()
		}
		if err := WriteLabels(dir, im.Name, boxes); err != nil {
			return err
		}
	}
	return nil
}
