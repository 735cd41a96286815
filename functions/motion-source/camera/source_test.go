package camera

import (
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/metrics"
)

func TestParseSource(t *testing.T) {
	for raw, want := range map[string]Kind{
		"rtsp://h/s": KindRTSP, "RTSPS://h/s": KindRTSP, "http://h/v.mjpg": KindHTTP, "https://h/v": KindHTTP,
		"/dev/video0": KindDevice, "v4l2:2": KindDevice, "/data/a.avi": KindFile, "file:///data/a.avi": KindFile,
	} {
		s, err := ParseSource(raw)
		if err != nil || s.Kind != want {
			t.Errorf("%s: %v %v, want %v", raw, s.Kind, err, want)
		}
	}
	for _, bad := range []string{"", "ftp://h/x", "v4l2:x", "/dev/videoX"} {
		if _, err := ParseSource(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestRedact(t *testing.T) {
	for raw, want := range map[string]string{
		"rtsp://admin:pw@h:554/s":            "rtsp://admin:xxxxx@h:554/s",
		"http://h/v.mjpg?user=a&password=pw": "http://h/v.mjpg?password=xxxxx&user=a",
		"/data/clip.avi":                     "/data/clip.avi",
	} {
		if got := Redact(raw); got != want {
			t.Errorf("Redact(%q) = %q, want %q", raw, got, want)
		}
	}
	s := NewStream(Options{Source: Source{Kind: KindRTSP, Target: "rtsp://a:pw@h/s"}, Secrets: []string{"pw"}}, NewOpener(), nil, metrics.Discard("c"))
	defer s.Close()
	if got := s.Redact("cannot open rtsp://a:pw@h/s (pw)"); strings.Contains(got, "pw") {
		t.Errorf("secret left in %q", got)
	}
}

func TestBackoffGrowsAndIsCapped(t *testing.T) {
	s := &Stream{opts: Options{BackoffInitial: 100 * time.Millisecond, BackoffMax: time.Second}}
	for failures, want := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 4: 800 * time.Millisecond, 10: time.Second} {
		s.failures = failures
		d := s.backoff()
		if d < want*8/10 || d > want*12/10 {
			t.Errorf("after %d failures: %v, want %v ± 20 %%", failures, d, want)
		}
	}
}

func TestBackoffStaysUnderItsCap(t *testing.T) {
	const initial, cap = 500 * time.Millisecond, 30 * time.Second
	for n := 1; n <= 20; n++ {
		for _, r := range []float64{0, 0.5, 0.999} {
			d := Backoff(initial, cap, n, r)
			if d > cap || d <= 0 {
				t.Fatalf("attempt %d, jitter %v: wait %v, want in (0, %v]", n, r, d, cap)
			}
		}
	}
	if d := Backoff(initial, cap, 1, 0); d != 400*time.Millisecond {
		t.Fatalf("first wait with the lowest jitter: %v, want 400ms", d)
	}
	if d := Backoff(initial, cap, 3, 0.5); d != 2*time.Second {
		t.Fatalf("third wait with no jitter: %v, want 2s", d)
	}
}
