package dataset

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeTree writes files (path relative to dir → content) and returns dir.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestReadAValidDataset(t *testing.T) {
	dir := writeTree(t, map[string]string{
		"images/a.jpg":       "x",
		"images/b.JPG":       "x",
		"images/c.png":       "x", // no label file: a background image
		"images/notes.md":    "ignored",
		"labels/a.txt":       "0 0.5 0.5 0.2 0.4\n\n3 0.1 0.9 0.05 0.05\n",
		"labels/b.txt":       "2 1 0 1 1\n",
		"labels/classes.txt": "accident\nfire\ngun\nknife\n", // labelImg's class list
	})
	ds, err := Read(dir, 4)
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.Items) != 3 || ds.Boxes() != 3 {
		t.Fatalf("%d items %d boxes", len(ds.Items), ds.Boxes())
	}
	a := ds.Items[0]
	if filepath.Base(a.Image) != "a.jpg" || len(a.Boxes) != 2 || a.Boxes[1] != (Box{Class: 3, CX: 0.1, CY: 0.9, W: 0.05, H: 0.05, Line: 3}) {
		t.Fatalf("%+v", a)
	}
	if c := ds.Items[2]; filepath.Base(c.Image) != "c.png" || c.Label != "" || len(c.Boxes) != 0 {
		t.Fatalf("%+v", c)
	}
}

func TestReadNamesTheFileAndLineOfEachProblem(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"label without image", map[string]string{"images/a.jpg": "x", "labels/a.txt": "", "labels/ghost.txt": "0 .5 .5 .1 .1\n"},
			"labels/ghost.txt: label file without an image"},
		{"class id out of range", map[string]string{"images/a.jpg": "x", "labels/a.txt": "0 .5 .5 .1 .1\n4 .5 .5 .1 .1\n"},
			"labels/a.txt:2: class id 4 out of range 0–3"},
		{"negative class id", map[string]string{"images/a.jpg": "x", "labels/a.txt": "-1 .5 .5 .1 .1\n"},
			"labels/a.txt:1: class id -1 out of range"},
		{"coordinate above 1", map[string]string{"images/a.jpg": "x", "labels/a.txt": "1 1.2 .5 .1 .1\n"},
			"labels/a.txt:1: cx 1.2 outside [0,1]"},
		{"pixel coordinates", map[string]string{"images/a.jpg": "x", "labels/a.txt": "\n1 320 240 50 60\n"},
			"labels/a.txt:2: cx 320 outside [0,1]"},
		{"negative size", map[string]string{"images/a.jpg": "x", "labels/a.txt": "1 .5 .5 -.1 .1\n"},
			"labels/a.txt:1: w -.1 outside [0,1]"},
		{"empty box", map[string]string{"images/a.jpg": "x", "labels/a.txt": "1 .5 .5 .1 0\n"},
			"labels/a.txt:1: h is 0"},
		{"four fields", map[string]string{"images/a.jpg": "x", "labels/a.txt": "1 .5 .5 .1\n"},
			"labels/a.txt:1: want 5 fields"},
		{"Pascal VOC corners with a label", map[string]string{"images/a.jpg": "x", "labels/a.txt": "knife .1 .1 .2 .2\n"},
			"labels/a.txt:1: class id \"knife\" is not an integer"},
		{"not a number", map[string]string{"images/a.jpg": "x", "labels/a.txt": "1 .5 NaN .1 .1\n"},
			"labels/a.txt:1: cy NaN outside [0,1]"},
		{"two images one stem", map[string]string{"images/a.jpg": "x", "images/a.png": "x"},
			"images/a.png: same name as a.jpg"},
		{"no images", map[string]string{"images/.keep": ""}, "no images"},
		{"no images directory", map[string]string{"labels/a.txt": ""}, "images"},
	} {
		dir := writeTree(t, c.files)
		_, err := Read(dir, 4)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
}

func TestReadReportsEveryProblemAtOnce(t *testing.T) {
	dir := writeTree(t, map[string]string{"images/a.jpg": "x", "labels/a.txt": "9 .5 .5 .1 .1\n0 2 .5 .1 .1\n", "labels/b.txt": ""})
	_, err := Read(dir, 4)
	if err == nil || !strings.Contains(err.Error(), "a.txt:1") || !strings.Contains(err.Error(), "a.txt:2") || !strings.Contains(err.Error(), "b.txt") {
		t.Fatalf("%v", err)
	}
}
