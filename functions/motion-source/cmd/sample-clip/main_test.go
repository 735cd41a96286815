package main

import (
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
)

func TestRun(t *testing.T) {
	out := filepath.Join(t.TempDir(), "clip.avi")
	if code := run([]string{"-o", out, "-width", "160", "-height", "120", "-frames", "5"}, io.Discard, io.Discard); code != 0 {
		t.Fatalf("exit %d", code)
	}
	if st, err := os.Stat(out); err != nil || st.Size() == 0 {
		t.Fatalf("no clip: %v", err)
	}
	var stderr strings.Builder
	if code := run(nil, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "-o is required") {
		t.Fatalf("without -o: exit %d, %q", code, stderr.String())
	}
}

func TestRunBusy(t *testing.T) {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		t.Skip("ffmpeg is not installed")
	}
	dir := t.TempDir()
	out, truth := filepath.Join(dir, "street.mp4"), filepath.Join(dir, "truth.json")
	var stdout, stderr strings.Builder
	args := []string{"-busy", "-o", out, "-frames", "100", "-seed", "3", "-truth", truth}
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	summary := stdout.String()
	t.Log(summary)
	for _, want := range []string{"720×576, 100 frames at 25 fps (4.0 s)", "Mbit/s", "people: ", "in view at once", "vacated: person 1 left"} {
		if !strings.Contains(summary, want) {
			t.Errorf("summary lacks %q:\n%s", want, summary)
		}
	}
	data, err := os.ReadFile(truth)
	if err != nil {
		t.Fatal(err)
	}
	var tr samplevideo.Truth
	if err := json.Unmarshal(data, &tr); err != nil {
		t.Fatal(err)
	}
	want := samplevideo.Busy{Frames: 100, Seed: 3, Stander: true}.Truth()
	if len(tr.Frames) != 100 || tr.Vacated[0] != want.Vacated[0] || tr.Frames[50][0] != want.Frames[50][0] {
		t.Errorf("the truth file differs from the scene's truth")
	}
}

func TestRunRefusesMixedFlags(t *testing.T) {
	for _, args := range [][]string{
		{"-busy", "-o", "x.mp4", "-codec", "MJPG"},
		{"-busy", "-o", "x.mp4", "-static"},
		{"-o", "x.avi", "-seed", "2"},
		{"-o", "x.avi", "-truth", "t.json"},
	} {
		var stderr strings.Builder
		if code := run(args, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "busy") {
			t.Errorf("%v: exit %d, %q", args, code, stderr.String())
		}
	}
}

func TestRunBusyReportsErrors(t *testing.T) {
	var stderr strings.Builder
	out := filepath.Join(t.TempDir(), "x.mp4")
	if code := run([]string{"-busy", "-o", out, "-width", "721"}, io.Discard, &stderr); code != 1 || !strings.Contains(stderr.String(), "even") {
		t.Errorf("odd width: exit %d, %q", code, stderr.String())
	}
}
