package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSavingsRefusesBadInputByName(t *testing.T) {
	dir := t.TempDir()
	unsorted := filepath.Join(dir, "unsorted.jsonl")
	if err := os.WriteFile(unsorted, []byte(
		`{"time":"2026-12-03T10:20:07Z","camera":"a","id":"1","bytes":1,"kind":"crop"}`+"\n"+
			`{"time":"2026-12-03T10:20:05Z","camera":"b","id":"2","bytes":1,"kind":"crop"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	service := "-service=../../config/services/detect.yaml"
	autoscaler := "-autoscaler=../../config/cluster/serving-autoscaler.yaml"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-timeline", unsorted}, "line 2: time 2026-12-03T10:20:05Z is before"},
		{[]string{"-max-scale", "0"}, "-max-scale 0"},
		{[]string{"-window", "2s"}, "-window 2s"},
		{[]string{"-retentions", "1m,soon"}, `-retentions: "soon"`},
		{[]string{"-scenario", "rainy"}, `unknown scenario "rainy"`},
	} {
		err := runSavings(&bytes.Buffer{}, append([]string{service, autoscaler}, tc.args...))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}

func TestSavingsOnASortedCapture(t *testing.T) {
	dir := t.TempDir()
	raw := strings.NewReader(
		`{"time":"2026-12-03T10:20:07Z","camera":"a","id":"1","bytes":1,"kind":"crop"}` + "\n" +
			`{"time":"2026-12-03T10:20:05Z","camera":"b","id":"2","bytes":1,"kind":"frame","track":"7","tracks":["7"]}` + "\n")
	var sorted bytes.Buffer
	if err := runTimeline(raw, &sorted, []string{"sort"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "sorted.jsonl")
	if err := os.WriteFile(path, sorted.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	png := filepath.Join(dir, "chart.png")
	err := runSavings(&out, []string{"-service=../../config/services/detect.yaml", "-autoscaler=", "-timeline", path,
		"-png", png, "-cold-start", "10s"})
	if err != nil {
		t.Fatal(err)
	}
	// Two events 2 s apart on a cold detector: one cold start delays both.
	if !strings.Contains(out.String(), "| 10m0s | ") || !strings.Contains(out.String(), "2 cameras, 2 events") {
		t.Fatalf("report:\n%s", out.String())
	}
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "| 0s |") && !strings.Contains(line, "| 1 | 2 |") {
			t.Fatalf("want 1 cold start delaying 2 events: %s", line)
		}
	}
	if b, err := os.ReadFile(png); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
		t.Fatalf("chart: %v", err)
	}
}
