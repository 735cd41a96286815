//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/internal/savings"
)

// TestSavingsModelMatchesTheRunner replays a short timeline through
// `edgewatch up`, whose activator scales the real detect process to zero
// and back, and compares detect's measured up-time and cold starts with
// what the savings model predicts for the same settings.
//
// The runner stops detect after -scale-to-zero-after without events; the
// model gets the same idle time as stable window plus retention. The cold
// starts must match exactly. The up-time may differ by the activator's idle
// check (every quarter of the idle time, so up to that much late per scale
// to zero), the model's 2 s autoscaler tick and the time each event spends
// in detect on this machine: the tolerance is a quarter of the prediction.
func TestSavingsModelMatchesTheRunner(t *testing.T) {
	const idle = 15 * time.Second
	// Three bursts: the first two gaps are shorter than idle (detect stays
	// up), the two long ones let it scale to zero and cold start again.
	offsets := []time.Duration{0, time.Second, 2 * time.Second, 8 * time.Second,
		45 * time.Second, 46 * time.Second, 80 * time.Second}
	const camera = "savings-1"

	in, v := newInbox(t), vlm(t)
	p := startPipeline(t, options{env: outsideEnv(in, v), scaleToZeroAfter: idle})
	ps := newPoster(t, p.brokerURL(), knifeCrop(t, 416))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	begin := time.Now()
	var mu sync.Mutex
	var timeline []savings.Event
	var wg sync.WaitGroup
	for i, off := range offsets {
		time.Sleep(time.Until(begin.Add(off)))
		sent := time.Now()
		mu.Lock()
		timeline = append(timeline, savings.Event{Time: sent, Camera: camera, ID: fmt.Sprint(i), Bytes: len(ps.jpeg), Kind: "crop"})
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ps.send(ctx, camera, fmt.Sprintf("%s-%d", camera, i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	eventually(t, time.Minute, "every event through detect", func() bool { return detectionCount(p.db, camera) == len(offsets) })
	runner := p.ports.metrics()
	eventually(t, idle+time.Minute, "detect scaled to zero after the last burst", func() bool {
		return p.metricPort(runner, "edgewatch_runner_scale_events_total", `function="detect"`, `direction="down"`) >=
			p.metricPort(runner, "edgewatch_runner_scale_events_total", `function="detect"`, `direction="up"`)
	})
	end := time.Now()

	measuredUp := p.metricPort(runner, "edgewatch_runner_function_up_seconds_total", `function="detect"`)
	measuredCold := int(p.metricPort(runner, "edgewatch_runner_scale_events_total", `function="detect"`, `direction="up"`))
	coldSum := p.metricPort(runner, "edgewatch_runner_cold_start_seconds_sum", `function="detect"`)
	if measuredCold == 0 {
		t.Fatal("detect never started")
	}
	coldStart := time.Duration(coldSum / float64(measuredCold) * float64(time.Second))

	c := savings.Config{StableWindow: 6 * time.Second, GracePeriod: 6 * time.Second, Retention: idle - 6*time.Second,
		Target: 100, Utilization: 1, ContainerConcurrency: 100, MinScale: 0, MaxScale: 1,
		ColdStart: coldStart, ServiceTime: 300 * time.Millisecond, GPUsPerPod: 1, MiBPerPod: 1}
	predicted, err := savings.Simulate(timeline, c, begin, end)
	if err != nil {
		t.Fatal(err)
	}
	report(t, "savings model vs runner (idle %s, mean cold start %s, %d events over %s): detect up %.1f s measured, %.1f s predicted; cold starts %d measured, %d predicted",
		idle, coldStart.Round(time.Millisecond), len(offsets), end.Sub(begin).Round(time.Second),
		measuredUp, predicted.PodSeconds, measuredCold, predicted.ColdStarts)
	if measuredCold != predicted.ColdStarts {
		t.Errorf("cold starts: %d measured, %d predicted", measuredCold, predicted.ColdStarts)
	}
	if diff := math.Abs(measuredUp - predicted.PodSeconds); diff > predicted.PodSeconds/4 {
		t.Errorf("detect up %.1f s measured, %.1f s predicted: more than 25 %% apart", measuredUp, predicted.PodSeconds)
	}

	// On stop the runner states the session's savings.
	p.stop()
	if !strings.Contains(p.log.String(), "detect was up ") || !strings.Contains(p.log.String(), "less than always on") {
		t.Errorf("no savings line when the runner stopped:\n%s", p.log.Tail(20))
	}
}
