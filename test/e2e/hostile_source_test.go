//go:build e2e

package e2e

import (
	"fmt"
	"testing"
	"time"
)

// TestHostileRabbitMQRestartDuringBurst restarts RabbitMQ for 16 s while a
// live camera shows motion: the broker ingress refuses motion-source's events
// meanwhile, motion-source holds them in its outage buffer, and when
// RabbitMQ is back every event it held is delivered, reaches detect, and the
// detections of frames taken during the outage are stored with their own
// times.
func TestHostileRabbitMQRestartDuringBurst(t *testing.T) {
	in, v := newInbox(t), vlm(t)
	cam := newMJPEGCamera(t, movingBlueFrames(t, 640, 360, 90))
	cameras := fmt.Sprintf(`[{"id":"cam-burst","url":%q,"fps":5,"cooldown":"200ms"}]`, cam.url())
	p := startPipeline(t, options{env: append(outsideEnv(in, v), append(faultEnv, "SEND_BACKOFF=100ms", "SEND_BACKOFF_MAX=1s")...), cameras: cameras})
	ms := func(name string) float64 {
		return p.metric("motion-source", "edgewatch_motion_source_"+name, `camera="cam-burst"`)
	}
	eventually(t, 2*time.Minute, "motion events flowing to detect", func() bool {
		return ms("events_sent_total") >= 3 && detectionCount(p.db, "cam-burst") >= 1
	})

	down := time.Now()
	restartService(t, "rabbitmq", 16*time.Second)
	up := time.Now()
	t.Logf("RabbitMQ down from %s to %s", down.Format(time.TimeOnly), up.Format(time.TimeOnly))
	eventually(t, 2*time.Minute, "the events held during the outage delivered", func() bool {
		return ms("events_buffered_total") >= 1 && ms("queue_depth") == 0 && ms("queue_bytes") == 0
	})
	// Let the camera run on a little, then take the figures: every event is
	// sent, failed or dropped, and none that was held may be dropped.
	time.Sleep(2 * time.Second)
	sent, buffered, dropped := ms("events_sent_total"), ms("events_buffered_total"), ms("buffer_dropped_total")
	failed, allDropped := ms("events_failed_total"), ms("events_dropped_total")
	eventually(t, time.Minute, "detect to have taken every event sent", func() bool {
		return p.metric("detect", "edgewatch_detect_inference_seconds_count") >= sent
	})
	inferred := p.metric("detect", "edgewatch_detect_inference_seconds_count")
	var during int
	if err := p.db.QueryRow(`SELECT count(*) FROM detections WHERE camera = 'cam-burst' AND detected_at BETWEEN $1 AND $2`,
		down.Add(time.Second), up.Add(-time.Second)).Scan(&during); err != nil {
		t.Fatal(err)
	}
	lost := int(dropped + failed)
	if inferred < sent {
		lost += int(sent - inferred)
	}
	reportHostile(t, hostileResult{
		Test:   "RabbitMQ restarted 16 s during a live camera's burst",
		Load:   "1 MJPEG camera, 5 fps, motion every 3.6 s",
		Faults: "1 RabbitMQ restart (16 s down)",
		Inputs: fmt.Sprintf("%.0f motion events sent, %.0f of them held in the outage buffer", sent, buffered),
		Lost:   lost,
		Outcome: fmt.Sprintf("%.0f held dropped, %.0f failed, %.0f dropped in all; detect inferred %.0f; %d detections stored from frames taken while RabbitMQ was down",
			dropped, failed, allDropped, inferred, during),
	})
	if buffered < 3 {
		t.Fatalf("only %.0f events held during a 16 s outage: the fault did not reach motion-source", buffered)
	}
	if lost != 0 {
		t.Fatalf("lost %d events: %.0f held and dropped, %.0f failed, %.0f sent but %.0f inferred, %.0f dropped in all",
			lost, dropped, failed, sent, inferred, allDropped)
	}
	if during == 0 {
		t.Fatal("no detection of a frame taken during the outage was stored: the held events did not arrive with their own times")
	}
	if rows := incidents(t, p.db, "cam-burst"); len(rows) != 1 {
		t.Fatalf("incidents: %+v, want the one object as one incident", rows)
	}
}
