// Package dataset reads and checks YOLO-format labelled image sets:
// DIR/images/NAME.jpg with DIR/labels/NAME.txt, one object a line as
// "class cx cy w h", the box centre and size normalised to the image (0–1).
// An image without a label file has no objects (a background image); a
// label file without an image, a class id outside the names, a coordinate
// outside 0–1 or a malformed line is an error that names the file and line.
package dataset

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Box is one labelled object.
type Box struct {
	// Class is the class id, an index into the names.
	Class int
	// CX, CY, W and H are the box centre and size as fractions of the
	// image's width and height.
	CX, CY, W, H float64
	// Line is the 1-based line of the label file the box came from.
	Line int
}

// Item is one image and its objects.
type Item struct {
	// Image is the image's path.
	Image string
	// Label is the label file's path ("" when the image has none).
	Label string
	// Boxes are the image's objects in label file order.
	Boxes []Box
}

// Dataset is a read and checked labelled image set.
type Dataset struct {
	// Dir is the dataset directory.
	Dir string
	// Items are the images in name order.
	Items []Item
}

// Boxes returns the number of labelled objects.
func (d *Dataset) Boxes() int {
	n := 0
	for _, it := range d.Items {
		n += len(it.Boxes)
	}
	return n
}

// imageExts are the image file extensions read, lower-case.
var imageExts = []string{".jpg", ".jpeg", ".png"}

// labelImgClasses is the class list labelImg writes next to its labels;
// it is not a label file.
const labelImgClasses = "classes.txt"

// maxErrors bounds the problems Read reports at once.
const maxErrors = 20

// LineError is a problem at one line of one label file (Line 0: the file
// as a whole).
type LineError struct {
	File string
	Line int
	Msg  string
}

func (e *LineError) Error() string {
	if e.Line == 0 {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Read reads and checks the dataset in dir against classes class ids
// (0…classes−1). It reports every problem it finds (up to 20) joined in one
// error, each a *LineError naming the file and line.
func Read(dir string, classes int) (*Dataset, error) {
	if classes < 1 {
		return nil, fmt.Errorf("dataset %s: %d classes", dir, classes)
	}
	imgDir, lblDir := filepath.Join(dir, "images"), filepath.Join(dir, "labels")
	images, err := listFiles(imgDir, func(name string) bool { return isImage(name) })
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w (want %s with the images)", dir, err, imgDir)
	}
	labels, err := listFiles(lblDir, func(name string) bool {
		return strings.EqualFold(filepath.Ext(name), ".txt") && name != labelImgClasses
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("dataset %s: %w", dir, err)
	}
	ds := &Dataset{Dir: dir}
	var problems []error
	report := func(e *LineError) {
		if len(problems) < maxErrors {
			problems = append(problems, e)
		}
	}
	byStem := map[string]string{}
	for _, img := range images {
		stem := stemOf(img)
		if other, dup := byStem[stem]; dup {
			report(&LineError{File: filepath.Join(imgDir, img), Msg: fmt.Sprintf("same name as %s: one label file cannot serve both", other)})
			continue
		}
		byStem[stem] = img
	}
	for _, lbl := range labels {
		if _, ok := byStem[stemOf(lbl)]; !ok {
			report(&LineError{File: filepath.Join(lblDir, lbl), Msg: fmt.Sprintf("label file without an image (no %s.{jpg,jpeg,png} in %s)", stemOf(lbl), imgDir)})
		}
	}
	hasLabel := map[string]string{}
	for _, lbl := range labels {
		hasLabel[stemOf(lbl)] = lbl
	}
	for _, img := range images {
		it := Item{Image: filepath.Join(imgDir, img)}
		if lbl, ok := hasLabel[stemOf(img)]; ok {
			it.Label = filepath.Join(lblDir, lbl)
			boxes, errs := readLabels(it.Label, classes)
			it.Boxes = boxes
			for _, e := range errs {
				report(e)
			}
		}
		ds.Items = append(ds.Items, it)
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("dataset %s is not valid:\n%w", dir, errors.Join(problems...))
	}
	if len(ds.Items) == 0 {
		return nil, fmt.Errorf("dataset %s: no images (.jpg, .jpeg, .png) in %s", dir, imgDir)
	}
	return ds, nil
}

// listFiles returns the sorted names of the regular files in dir that keep accepts.
func listFiles(dir string, keep func(string) bool) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, e := range entries {
		if e.Type().IsRegular() && keep(e.Name()) {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return names, nil
}

func isImage(name string) bool {
	ext := strings.ToLower(filepath.Ext(name))
	for _, e := range imageExts {
		if ext == e {
			return true
		}
	}
	return false
}

func stemOf(name string) string { return strings.TrimSuffix(name, filepath.Ext(name)) }

// maxLabelBytes bounds one label file; a real one holds a few hundred bytes.
const maxLabelBytes = 1 << 20

// readLabels reads one label file and returns its boxes and the problems of its lines.
func readLabels(path string, classes int) ([]Box, []*LineError) {
	f, err := os.Open(path)
	if err != nil {
		return nil, []*LineError{{File: path, Msg: err.Error()}}
	}
	defer f.Close()
	var (
		boxes []Box
		errs  []*LineError
	)
	sc := bufio.NewScanner(io.LimitReader(f, maxLabelBytes))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		b, msg := parseLine(line, classes)
		if msg != "" {
			errs = append(errs, &LineError{File: path, Line: n, Msg: msg})
			continue
		}
		b.Line = n
		boxes = append(boxes, b)
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, &LineError{File: path, Msg: err.Error()})
	}
	return boxes, errs
}

// parseLine reads "class cx cy w h"; a non-empty message says what is wrong.
func parseLine(line string, classes int) (Box, string) {
	fields := strings.Fields(line)
	if len(fields) != 5 {
		return Box{}, fmt.Sprintf("want 5 fields \"class cx cy w h\", got %d in %q", len(fields), clip(line))
	}
	class, err := strconv.Atoi(fields[0])
	if err != nil {
		return Box{}, fmt.Sprintf("class id %q is not an integer", clip(fields[0]))
	}
	if class < 0 || class >= classes {
		return Box{}, fmt.Sprintf("class id %d out of range 0–%d (%d classes)", class, classes-1, classes)
	}
	var v [4]float64
	for i, name := range []string{"cx", "cy", "w", "h"} {
		x, err := strconv.ParseFloat(fields[i+1], 64)
		if err != nil {
			return Box{}, fmt.Sprintf("%s %q is not a number", name, clip(fields[i+1]))
		}
		if !(x >= 0 && x <= 1) {
			return Box{}, fmt.Sprintf("%s %s outside [0,1] (coordinates are fractions of the image size)", name, fields[i+1])
		}
		if i >= 2 && x == 0 {
			return Box{}, fmt.Sprintf("%s is 0: an empty box", name)
		}
		v[i] = x
	}
	return Box{Class: class, CX: v[0], CY: v[1], W: v[2], H: v[3]}, ""
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
