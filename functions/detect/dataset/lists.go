package dataset

import (
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // image.DecodeConfig reads JPEG headers
	_ "image/png"  // and PNG headers
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
)

// CheckImages opens every image and reads its header, so that a file that
// is not a JPEG or PNG image fails here rather than in training. It reports
// up to 20 problems joined in one error.
func (d *Dataset) CheckImages() error {
	var problems []error
	for _, it := range d.Items {
		if err := checkImage(it.Image); err != nil && len(problems) < maxErrors {
			problems = append(problems, err)
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("dataset %s has unreadable images:\n%w", d.Dir, errors.Join(problems...))
	}
	return nil
}

func checkImage(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	cfg, _, err := image.DecodeConfig(f)
	if err != nil {
		return &LineError{File: path, Msg: fmt.Sprintf("not a readable JPEG or PNG image: %v", err)}
	}
	if cfg.Width < 1 || cfg.Height < 1 {
		return &LineError{File: path, Msg: fmt.Sprintf("image is %dx%d", cfg.Width, cfg.Height)}
	}
	return nil
}

// Split shuffles the images with a seeded generator (the same seed gives the
// same split) and returns the training and validation images: round(valid ×
// images) of them, at least one when valid > 0 and there are two images or
// more. valid must lie in [0, 1).
func (d *Dataset) Split(valid float64, seed uint64) (train, validation []Item, err error) {
	if !(valid >= 0 && valid < 1) {
		return nil, nil, fmt.Errorf("validation fraction %g: want 0 ≤ fraction < 1", valid)
	}
	items := append([]Item(nil), d.Items...)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	rng.Shuffle(len(items), func(i, j int) { items[i], items[j] = items[j], items[i] })
	n := int(math.Round(valid * float64(len(items))))
	if n == 0 && valid > 0 && len(items) >= 2 {
		n = 1
	}
	return items[n:], items[:n], nil
}

// Lists are the files WriteLists wrote.
type Lists struct {
	Train, Valid, Names, Data, YAML string
}

// WriteLists writes into the dataset directory the training files darknet
// and Ultralytics read: train.txt and valid.txt (one absolute image path a
// line; both find each label by replacing /images/ with /labels/ and the
// extension with .txt), obj.names, obj.data (darknet's
// classes/train/valid/names/backup) and data.yaml (Ultralytics').
func (d *Dataset) WriteLists(train, valid []Item, names []string) (Lists, error) {
	dir, err := filepath.Abs(d.Dir)
	if err != nil {
		return Lists{}, err
	}
	l := Lists{
		Train: filepath.Join(dir, "train.txt"), Valid: filepath.Join(dir, "valid.txt"),
		Names: filepath.Join(dir, "obj.names"), Data: filepath.Join(dir, "obj.data"), YAML: filepath.Join(dir, "data.yaml"),
	}
	paths := func(items []Item) (string, error) {
		var b strings.Builder
		for _, it := range items {
			p, err := filepath.Abs(it.Image)
			if err != nil {
				return "", err
			}
			b.WriteString(p + "\n")
		}
		return b.String(), nil
	}
	trainText, err := paths(train)
	if err != nil {
		return Lists{}, err
	}
	validText, err := paths(valid)
	if err != nil {
		return Lists{}, err
	}
	var yaml strings.Builder
	fmt.Fprintf(&yaml, "# Ultralytics dataset file written by yolo-model dataset check.\npath: %s\ntrain: train.txt\nval: valid.txt\nnames:\n", dir)
	for i, n := range names {
		fmt.Fprintf(&yaml, "  %d: %q\n", i, n)
	}
	files := []struct{ path, text string }{
		{l.Train, trainText},
		{l.Valid, validText},
		{l.Names, strings.Join(names, "\n") + "\n"},
		{l.Data, fmt.Sprintf("classes = %d\ntrain = %s\nvalid = %s\nnames = %s\nbackup = %s\n",
			len(names), l.Train, l.Valid, l.Names, filepath.Join(dir, "backup"))},
		{l.YAML, yaml.String()},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, []byte(f.text), 0o644); err != nil {
			return Lists{}, err
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "backup"), 0o755); err != nil {
		return Lists{}, err
	}
	return l, nil
}
