// Package savings estimates what scaling detect to zero saves: it reads or
// generates timelines of motion events, replays them through a model of
// Knative's pod autoscaler (KPA) and compares the GPU time and memory held
// with an always-on detector of the same capacity.
package savings

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

// Event is one motion event the sink acknowledged, as motion-source writes
// it to EVENT_LOG: one JSON object per line.
type Event struct {
	Time   time.Time `json:"time"`
	Camera string    `json:"camera"`
	ID     string    `json:"id"`
	Bytes  int       `json:"bytes"`
	Kind   string    `json:"kind"`
	Track  string    `json:"track,omitempty"`
	Tracks []string  `json:"tracks,omitempty"`
}

// maxLine bounds one timeline line; an event is a few hundred bytes.
const maxLine = 64 * 1024

// ReadOptions says how strict Read is.
type ReadOptions struct {
	// Unsorted accepts events in any order (a raw capture, whose cameras
	// interleave); otherwise times must not decrease from line to line.
	Unsorted bool
}

// Read parses a timeline. Blank lines are skipped. An error names the line
// and what is wrong with it: malformed JSON, a missing time or camera, a
// negative size, an unknown kind, or a time earlier than the line before.
func Read(r io.Reader, o ReadOptions) ([]Event, error) {
	var events []Event
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 4096), maxLine)
	line := 0
	for s.Scan() {
		line++
		b := bytes.TrimSpace(s.Bytes())
		if len(b) == 0 {
			continue
		}
		e, err := parseEvent(b)
		if err != nil {
			return nil, fmt.Errorf("timeline line %d: %w", line, err)
		}
		if !o.Unsorted && len(events) > 0 && e.Time.Before(events[len(events)-1].Time) {
			return nil, fmt.Errorf("timeline line %d: time %s is before the previous line's %s; the timeline must be sorted by time (edgewatch timeline sort)",
				line, e.Time.Format(time.RFC3339Nano), events[len(events)-1].Time.Format(time.RFC3339Nano))
		}
		events = append(events, e)
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("timeline line %d: %w", line+1, err)
	}
	return events, nil
}

func parseEvent(b []byte) (Event, error) {
	var e Event
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&e); err != nil {
		return e, fmt.Errorf("not a timeline event: %w", err)
	}
	switch {
	case e.Time.IsZero():
		return e, fmt.Errorf("no time")
	case e.Camera == "":
		return e, fmt.Errorf("no camera")
	case e.Bytes < 0:
		return e, fmt.Errorf("bytes %d is negative", e.Bytes)
	case e.Kind != "crop" && e.Kind != "frame":
		return e, fmt.Errorf("kind %q is neither crop nor frame", e.Kind)
	}
	return e, nil
}

// Sort orders events by time; events at the same instant keep their order,
// so each camera's own order is preserved.
func Sort(events []Event) {
	slices.SortStableFunc(events, func(a, b Event) int { return a.Time.Compare(b.Time) })
}

// Write writes events as JSON lines.
func Write(w io.Writer, events []Event) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return bw.Flush()
}
