//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// report appends a figure line to $E2E_REPORT (when set) and the test log.
func report(t testing.TB, format string, args ...any) {
	t.Helper()
	line := fmt.Sprintf(format, args...)
	t.Log(line)
	if path := os.Getenv("E2E_REPORT"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintln(f, line)
			f.Close()
		}
	}
}

// TestLoad sends a bounded burst — 16 cameras × 40 motion events of real JPEG
// crops, 20 events/s per camera — through broker → detect → alert and
// reports throughput, end-to-end latency (accepted by the broker → detection
// stored) and the number lost, which must be 0.
func TestLoad(t *testing.T) {
	const cameras, perCamera = 16, 40
	in, v := newInbox(t), vlm(t)
	p := startPipeline(t, options{env: append(outsideEnv(in, v), faultEnv...)})
	ps := newPoster(t, p.brokerURL(), knifeCrop(t, 416))
	var cams []string
	for i := range cameras {
		cams = append(cams, fmt.Sprintf("load-%d", i))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	start := time.Now()
	ps.sendAll(ctx, t, cams, perCamera, 50*time.Millisecond, "load")
	sent := time.Since(start)
	total := cameras * perCamera
	eventually(t, 3*time.Minute, "every detection stored", func() bool {
		var n int
		_ = p.db.QueryRow(`SELECT count(*) FROM detections WHERE camera LIKE 'load-%'`).Scan(&n)
		return n >= total
	})
	rows, err := p.db.Query(`SELECT motion_id, received_at FROM detections WHERE camera LIKE 'load-%'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var lat []time.Duration
	var last time.Time
	for rows.Next() {
		var id string
		var at time.Time
		if err := rows.Scan(&id, &at); err != nil {
			t.Fatal(err)
		}
		accepted, ok := ps.sent.Load(id)
		if !ok {
			t.Fatalf("stored detection for motion %s that was never sent", id)
		}
		lat = append(lat, at.Sub(accepted.(time.Time)))
		if at.After(last) {
			last = at
		}
	}
	lost := total - len(lat)
	if lost != 0 {
		t.Fatalf("%d of %d events lost", lost, total)
	}
	for _, cam := range cams {
		if rows := incidents(t, p.db, cam); len(rows) != 1 {
			t.Errorf("%s: %d incidents, want 1", cam, len(rows))
		}
	}
	slices.Sort(lat)
	q := func(f float64) time.Duration { return lat[int(f*float64(len(lat)-1))] }
	report(t, "load: %d events from %d cameras in %.1f s offered, %.1f events/s end to end, latency p50 %v p99 %v, lost %d",
		total, cameras, sent.Seconds(), float64(total)/last.Sub(start).Seconds(), q(0.5).Round(time.Millisecond), q(0.99).Round(time.Millisecond), lost)
}

// TestColdStart measures, with detect scaled to zero (its process not
// running; the runner's activator starts it on demand as Knative's does),
// the time from the first motion event to the stored incident — twice:
// at first use, and again after detect scaled to zero when idle.
func TestColdStart(t *testing.T) {
	in, v := newInbox(t), vlm(t)
	p := startPipeline(t, options{env: outsideEnv(in, v), scaleToZeroAfter: 2 * time.Second})
	ps := newPoster(t, p.brokerURL(), knifeCrop(t, 416))
	measure := func(cam string) time.Duration {
		if strings.Contains(p.log.String(), cam) {
			t.Fatalf("camera %s already used", cam)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		start := time.Now()
		var wg sync.WaitGroup
		for i := range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := ps.send(ctx, cam, fmt.Sprintf("%s-%d", cam, i)); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		eventually(t, time.Minute, cam+": incident stored", func() bool { return len(incidents(t, p.db, cam)) == 1 })
		took := time.Since(start)
		eventually(t, 30*time.Second, cam+": every event stored", func() bool { return detectionCount(p.db, cam) == 3 })
		return took
	}
	first := measure("cold-1")
	eventually(t, time.Minute, "detect scaled to zero", func() bool { return strings.Contains(p.log.String(), "scaling to zero") })
	second := measure("cold-2")
	starts := strings.Count(p.log.String(), "scaled from zero")
	if starts < 2 {
		t.Fatalf("detect started %d times from zero, want 2", starts)
	}
	up := p.metricPort(p.ports.metrics(), "edgewatch_runner_scale_events_total", `function="detect"`, `direction="up"`)
	down := p.metricPort(p.ports.metrics(), "edgewatch_runner_scale_events_total", `function="detect"`, `direction="down"`)
	if up < 2 || down < 1 {
		t.Fatalf("runner metrics: %v scale-ups and %v scale-downs of detect, want ≥ 2 and ≥ 1", up, down)
	}
	report(t, "cold start: first event to stored incident with detect at zero: %v (first use), %v (after scale to zero); nothing lost",
		first.Round(time.Millisecond), second.Round(time.Millisecond))
}
