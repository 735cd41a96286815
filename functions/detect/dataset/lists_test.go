package dataset

import (
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func writeJPEG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := jpeg.Encode(f, image.NewRGBA(image.Rect(0, 0, 8, 6)), nil); err != nil {
		t.Fatal(err)
	}
}

func tenImages(t *testing.T) *Dataset {
	t.Helper()
	dir := t.TempDir()
	for _, sub := range []string{"images", "labels"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 10; i++ {
		writeJPEG(t, filepath.Join(dir, "images", fmt.Sprintf("%02d.jpg", i)))
		if err := os.WriteFile(filepath.Join(dir, "labels", fmt.Sprintf("%02d.txt", i)), []byte(fmt.Sprintf("%d .5 .5 .2 .2\n", i%2)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ds, err := Read(dir, 2)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func names(items []Item) []string {
	var out []string
	for _, it := range items {
		out = append(out, filepath.Base(it.Image))
	}
	return out
}

func TestSplitIsSeededAndCoversEveryImageOnce(t *testing.T) {
	ds := tenImages(t)
	train, valid, err := ds.Split(0.2, 42)
	if err != nil {
		t.Fatal(err)
	}
	if len(train) != 8 || len(valid) != 2 {
		t.Fatalf("%d train %d valid", len(train), len(valid))
	}
	all := append(names(train), names(valid)...)
	slices.Sort(all)
	if !slices.Equal(all, names(ds.Items)) {
		t.Fatalf("split lost or repeated images: %v", all)
	}
	train2, valid2, _ := ds.Split(0.2, 42)
	if !slices.Equal(names(train), names(train2)) || !slices.Equal(names(valid), names(valid2)) {
		t.Fatal("same seed, different split")
	}
	_, valid3, _ := ds.Split(0.2, 43)
	_, valid4, _ := ds.Split(0.2, 44)
	if slices.Equal(names(valid), names(valid3)) && slices.Equal(names(valid), names(valid4)) {
		t.Fatal("the seed changes nothing")
	}
	if _, v, _ := ds.Split(0.01, 1); len(v) != 1 {
		t.Fatalf("a small fraction of 10 images held out %d, want at least 1", len(v))
	}
	for _, bad := range []float64{-0.1, 1, 2} {
		if _, _, err := ds.Split(bad, 1); err == nil {
			t.Errorf("fraction %v accepted", bad)
		}
	}
}

func TestWriteListsForDarknetAndUltralytics(t *testing.T) {
	ds := tenImages(t)
	train, valid, _ := ds.Split(0.1, 1)
	l, err := ds.WriteLists(train, valid, []string{"fire", "knife"})
	if err != nil {
		t.Fatal(err)
	}
	read := func(p string) string {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	lines := strings.Fields(read(l.Train))
	if len(lines) != 9 || !filepath.IsAbs(lines[0]) {
		t.Fatalf("train.txt %q", lines)
	}
	// darknet finds a label by replacing images with labels and the extension with .txt.
	for _, p := range append(lines, strings.Fields(read(l.Valid))...) {
		lbl := strings.TrimSuffix(strings.Replace(p, "/images/", "/labels/", 1), ".jpg") + ".txt"
		if _, err := os.Stat(lbl); err != nil {
			t.Fatalf("no label where darknet looks: %v", err)
		}
	}
	data := read(l.Data)
	for _, want := range []string{"classes = 2\n", "train = " + l.Train + "\n", "valid = " + l.Valid + "\n", "names = " + l.Names + "\n", "backup = "} {
		if !strings.Contains(data, want) {
			t.Fatalf("obj.data %q lacks %q", data, want)
		}
	}
	if read(l.Names) != "fire\nknife\n" || !strings.Contains(read(l.YAML), "  1: \"knife\"\n") || !strings.Contains(read(l.YAML), "val: valid.txt") {
		t.Fatalf("names %q yaml %q", read(l.Names), read(l.YAML))
	}
}

func TestCheckImagesFindsAFileThatIsNoImage(t *testing.T) {
	ds := tenImages(t)
	if err := ds.CheckImages(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ds.Items[3].Image, []byte("<html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := ds.CheckImages(); err == nil || !strings.Contains(err.Error(), "03.jpg: not a readable JPEG or PNG") {
		t.Fatalf("%v", err)
	}
}
