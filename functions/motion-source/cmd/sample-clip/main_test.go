package main

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "clip.avi")
	if code := run([]string{"-o", out, "-width", "160", "-height", "120", "-frames", "5"}, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		t.Fatalf("no clip: %v", err)
	}
	var stderr strings.Builder
	if code := run(nil, &stderr); code != 2 || !strings.Contains(stderr.String(), "-o is required") {
		t.Fatalf("without -o: exit %d, %q", code, stderr.String())
	}
}
