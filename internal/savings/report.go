package savings

import (
	"fmt"
	"io"
	"strings"
	"time"
)

// Retentions is the sweep of scale-to-zero-pod-retention-period values a
// report covers.
var Retentions = []time.Duration{0, 30 * time.Second, time.Minute, 5 * time.Minute, 10 * time.Minute, 30 * time.Minute}

// Row is one retention period's replay beside the always-on detector.
type Row struct {
	Retention time.Duration
	Result    Result
	// Saved is the share of the always-on detector's GPU-seconds not held.
	Saved float64
}

// Report is one timeline replayed for every retention period.
type Report struct {
	// Name labels the timeline.
	Name string
	// Start and End bound it; Cameras counts its cameras.
	Start, End time.Time
	Cameras    int
	// Config is the model's setting, Retention aside.
	Config   Config
	AlwaysOn Result
	Rows     []Row
}

// Sweep replays events once with the detector always on (min scale 1) and
// once per retention period with scale to zero.
func Sweep(name string, events []Event, c Config, start, end time.Time, retentions []time.Duration) (Report, error) {
	on := c
	on.MinScale = max(1, c.MinScale)
	always, err := Simulate(events, on, start, end)
	if err != nil {
		return Report{}, err
	}
	rep := Report{Name: name, Start: start, End: end, Cameras: cameras(events), Config: c, AlwaysOn: always}
	for _, r := range retentions {
		z := c
		z.MinScale, z.Retention = 0, r
		res, err := Simulate(events, z, start, end)
		if err != nil {
			return Report{}, err
		}
		saved := 0.0
		if always.GPUSeconds > 0 {
			saved = 1 - res.GPUSeconds/always.GPUSeconds
		}
		rep.Rows = append(rep.Rows, Row{Retention: r, Result: res, Saved: saved})
	}
	return rep, nil
}

// Span returns the span a captured timeline covers: from its first event
// to one second after its last.
func Span(events []Event) (start, end time.Time, err error) {
	if len(events) == 0 {
		return start, end, fmt.Errorf("the timeline has no events")
	}
	return events[0].Time, events[len(events)-1].Time.Add(time.Second), nil
}

func cameras(events []Event) int {
	seen := map[string]bool{}
	for _, e := range events {
		seen[e.Camera] = true
	}
	return len(seen)
}

// WriteTable writes the report as a Markdown table with a heading that
// states the timeline and the model's settings.
func (r Report) WriteTable(w io.Writer) error {
	c := r.Config
	var b strings.Builder
	fmt.Fprintf(&b, "### %s: %d cameras, %d events over %s\n\n", r.Name, r.Cameras, r.AlwaysOn.Events, r.End.Sub(r.Start).Round(time.Second))
	fmt.Fprintf(&b, "window %s, grace %s, target %g × %g%%, container concurrency %d, max scale %d, cold start %s, service time %s, %g GPU and %g MiB per pod\n\n",
		c.StableWindow, c.GracePeriod, c.Target, c.Utilization*100, c.ContainerConcurrency, c.MaxScale, c.ColdStart, c.ServiceTime, c.GPUsPerPod, c.MiBPerPod)
	b.WriteString("| retention | GPU-h held | saved | GPU MiB·h | cold starts | events delayed | added p50 | added p99 |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|\n")
	row := func(label string, res Result, saved string) {
		fmt.Fprintf(&b, "| %s | %.2f | %s | %.0f | %d | %d | %s | %s |\n", label, res.GPUSeconds/3600, saved, res.MiBHours,
			res.ColdStarts, res.Delayed, res.AddedP50.Round(time.Millisecond), res.AddedP99.Round(time.Millisecond))
	}
	row("always on", r.AlwaysOn, "—")
	for _, x := range r.Rows {
		row(x.Retention.String(), x.Result, fmt.Sprintf("%.1f %%", 100*x.Saved))
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}
