package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// clock is a settable time source.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestUpTimeCountsFromTheColdStartToTheStop(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
	u := newUpTime(c.now)
	u.track("detect")
	u.track("caption")
	c.t = c.t.Add(100 * time.Second)
	u.scaled("detect", 1, 4*time.Second) // the process started 4 s ago
	c.t = c.t.Add(60 * time.Second)
	u.scaled("detect", 0, 0)
	c.t = c.t.Add(200 * time.Second)
	u.scaled("detect", 1, 6*time.Second)
	c.t = c.t.Add(40 * time.Second) // still up: 46 s so far

	want := `
# HELP edgewatch_runner_function_up_seconds_total Seconds a scaled-to-zero function's process has been up, from the start of each cold start to its stop.
# TYPE edgewatch_runner_function_up_seconds_total counter
edgewatch_runner_function_up_seconds_total{function="caption"} 0
edgewatch_runner_function_up_seconds_total{function="detect"} 110
`
	if err := testutil.CollectAndCompare(u, strings.NewReader(want)); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	u.summary(&out)
	if !strings.Contains(out.String(), "detect was up 110 s of this 400 s session in 2 cold starts: 72 % less than always on") {
		t.Fatalf("summary:\n%s", out.String())
	}
}
