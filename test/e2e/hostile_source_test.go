//go:build e2e

package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lib/pq"
)

// deliveredDuring reads motion-source's EVENT_LOG and returns the ids of the
// events delivered whose own (frame) time lies between from and to.
func deliveredDuring(t *testing.T, path string, from, to time.Time) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ids []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e struct {
			Time time.Time `json:"time"`
			ID   string    `json:"id"`
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && e.Time.After(from) && e.Time.Before(to) {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// TestHostileRabbitMQRestartDuringBurst restarts RabbitMQ for 16 s while a
// live camera shows motion: the broker ingress refuses motion-source's events
// meanwhile, motion-source holds them in its outage buffer, and when
// RabbitMQ is back every event it held is delivered with its own time (the
// frame's, as motion-source's EVENT_LOG records it) and reaches detect, and
// detections of frames taken during the outage reach PostgreSQL.
func TestHostileRabbitMQRestartDuringBurst(t *testing.T) {
	in, v := newInbox(t), vlm(t)
	cam := newMJPEGCamera(t, movingBlueFrames(t, 640, 360, 90))
	cameras := fmt.Sprintf(`[{"id":"cam-burst","url":%q,"fps":5,"cooldown":"200ms"}]`, cam.url())
	eventLog := filepath.Join(t.TempDir(), "motion-events.jsonl")
	p := startPipeline(t, options{env: append(outsideEnv(in, v), append(faultEnv, "SEND_BACKOFF=100ms", "SEND_BACKOFF_MAX=1s",
		"EVENT_LOG="+eventLog)...), cameras: cameras})
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
	// The events of frames taken while RabbitMQ was down, delivered later,
	// and their detections in PostgreSQL.
	outage := deliveredDuring(t, eventLog, down, up)
	var during int
	eventually(t, time.Minute, "detections of the outage's frames", func() bool {
		err := p.db.QueryRow(`SELECT count(DISTINCT motion_id) FROM detections WHERE camera = 'cam-burst' AND motion_id = ANY($1)`,
			pq.Array(outage)).Scan(&during)
		return err == nil && during > 0
	})
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
		Outcome: fmt.Sprintf("%.0f held dropped, %.0f failed, %.0f dropped in all; detect inferred %.0f; %d events of frames taken while RabbitMQ was down delivered with their own times, %d of them with detections in PostgreSQL",
			dropped, failed, allDropped, inferred, len(outage), during),
	})
	if buffered < 3 {
		t.Fatalf("only %.0f events held during a 16 s outage: the fault did not reach motion-source", buffered)
	}
	if lost != 0 {
		t.Fatalf("lost %d events: %.0f held and dropped, %.0f failed, %.0f sent but %.0f inferred, %.0f dropped in all",
			lost, dropped, failed, sent, inferred, allDropped)
	}
	if len(outage) == 0 || during == 0 {
		t.Fatalf("%d events of frames taken during the outage delivered, %d with detections stored: want some of each", len(outage), during)
	}
	if rows := incidents(t, p.db, "cam-burst"); len(rows) != 1 {
		t.Fatalf("incidents: %+v, want the one object as one incident", rows)
	}
}
