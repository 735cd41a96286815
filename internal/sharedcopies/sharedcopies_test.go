package sharedcopies

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

var update = flag.Bool("update", false, "rewrite every copy from its source")

// files returns the names and contents of the regular files in dir.
func files(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		if e.Type().IsRegular() {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = b
		}
	}
	return out
}

func TestSharedCopiesIdentical(t *testing.T) {
	root := filepath.Join("..", "..")
	for _, c := range Copies() {
		src := files(t, filepath.Join(root, c.Source))
		if len(src) == 0 {
			t.Fatalf("%s holds no files", c.Source)
		}
		for _, dir := range c.Copies {
			if *update {
				write(t, filepath.Join(root, dir), src)
			}
			got := files(t, filepath.Join(root, dir))
			for name, want := range src {
				if !bytes.Equal(got[name], want) {
					t.Errorf("%s/%s differs from %s/%s: edit the source and run go test ./internal/sharedcopies -update",
						dir, name, c.Source, name)
				}
			}
			for name := range got {
				if _, ok := src[name]; !ok {
					t.Errorf("%s/%s is not in %s", dir, name, c.Source)
				}
			}
		}
	}
}

// write replaces the files of dir with src.
func write(t *testing.T, dir string, src map[string][]byte) {
	t.Helper()
	for name := range files(t, dir) {
		if _, ok := src[name]; !ok {
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
	}
	names := make([]string, 0, len(src))
	for name := range src {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if err := os.WriteFile(filepath.Join(dir, name), src[name], 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUpdateReplacesTheCopy checks that -update leaves a copy holding the
// source's files and no others.
func TestUpdateReplacesTheCopy(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, map[string][]byte{"a.go": []byte("package a\n")})
	if got := files(t, dir); !bytes.Equal(got["a.go"], []byte("package a\n")) || len(got) != 1 {
		t.Fatalf("written copy reads back as %q", got)
	}
	write(t, dir, map[string][]byte{"b.go": []byte("package b\n")})
	if got := files(t, dir); len(got) != 1 || got["b.go"] == nil {
		t.Fatalf("an update left stale files: %q", got)
	}
}
