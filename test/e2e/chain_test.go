//go:build e2e

package e2e

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"image/color"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/motion-source/samplevideo"
)

// incidentRow is what the tests read back of an incident.
type incidentRow struct {
	id, class, status string
	hits              int
	snapshot          int
	lat, lon          sql.NullFloat64
	caption           sql.NullString
}

// incidents returns the camera's shown incidents (candidates that never
// opened are not incidents to anyone).
func incidents(t testing.TB, db *sql.DB, camera string) []incidentRow {
	t.Helper()
	rows, err := db.Query(`SELECT id, class, status, hits, coalesce(length(snapshot), 0), lat, lon, caption
		FROM incidents WHERE camera = $1 AND status IN ('open', 'closed') ORDER BY opened_at`, camera)
	if err != nil {
		return nil // the schema may not exist yet, or PostgreSQL is restarting
	}
	defer rows.Close()
	var out []incidentRow
	for rows.Next() {
		var r incidentRow
		if err := rows.Scan(&r.id, &r.class, &r.status, &r.hits, &r.snapshot, &r.lat, &r.lon, &r.caption); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// detectionCount counts the stored detections of a camera.
func detectionCount(db *sql.DB, camera string) int {
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM detections WHERE camera = $1`, camera).Scan(&n); err != nil {
		return -1
	}
	return n
}

// TestWholeChain plays a generated clip in which a blue object (a knife to
// the demo model) crosses a street, and follows it through every function:
// motion event → detection of the right class → one incident with snapshot
// and location → one notification → caption attached → on the map's API.
func TestWholeChain(t *testing.T) {
	clip := filepath.Join(t.TempDir(), "street.avi")
	scene := samplevideo.Scene{Width: 960, Height: 540, FPS: 25, Frames: 150, Object: true, ObjectSize: 140,
		ObjectStart: 40, ObjectColor: color.RGBA{B: 255, A: 255}}
	if err := samplevideo.Write(clip, scene); err != nil {
		t.Fatal(err)
	}
	in, v := newInbox(t), vlm(t)
	cameras := fmt.Sprintf(`[{"id":"cam-e2e","url":%q,"fps":5,"location":{"lat":37.5665,"lon":126.978}}]`, clip)
	p := startPipeline(t, options{env: outsideEnv(in, v), cameras: cameras, scaleToZeroAfter: time.Minute})

	var inc incidentRow
	eventually(t, 90*time.Second, "one captioned knife incident for cam-e2e", func() bool {
		rows := incidents(t, p.db, "cam-e2e")
		if len(rows) > 1 {
			t.Fatalf("%d incidents for one object: %+v", len(rows), rows)
		}
		if len(rows) == 1 && rows[0].caption.Valid {
			inc = rows[0]
			return true
		}
		return false
	})
	if inc.class != "knife" || inc.snapshot == 0 || !inc.lat.Valid || inc.lat.Float64 != 37.5665 || inc.lon.Float64 != 126.978 {
		t.Fatalf("incident = %+v, want a knife with snapshot and the camera's location", inc)
	}
	if !strings.HasPrefix(inc.caption.String, "[demo stand-in") {
		t.Fatalf("caption %q did not come from the VLM endpoint", inc.caption.String)
	}
	if v.Calls() != 1 {
		t.Fatalf("VLM called %d times for one incident", v.Calls())
	}
	eventually(t, 30*time.Second, "one notification for the incident", func() bool { return in.count("cam-e2e") >= 1 })

	var label string
	if err := p.db.QueryRow(`SELECT label FROM detections WHERE camera = 'cam-e2e' LIMIT 1`).Scan(&label); err != nil || label != "knife" {
		t.Fatalf("detection label %q, %v", label, err)
	}
	if got := p.metric("motion-source", "edgewatch_motion_source_events_sent_total"); got < 1 {
		t.Fatalf("motion-source sent %v motion events", got)
	}

	// The map's API shows the incident with its caption and snapshot.
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/incidents?camera=cam-e2e", p.ports.dashboard()))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var api struct {
		Incidents []struct {
			ID          string `json:"id"`
			Class       string `json:"class"`
			Caption     string `json:"caption"`
			HasSnapshot bool   `json:"has_snapshot"`
		}
	}
	if err := json.NewDecoder(resp.Body).Decode(&api); err != nil {
		t.Fatal(err)
	}
	if len(api.Incidents) != 1 || api.Incidents[0].ID != inc.id || api.Incidents[0].Caption != inc.caption.String || !api.Incidents[0].HasSnapshot {
		t.Fatalf("map API: %+v, want incident %s", api.Incidents, inc.id)
	}
	snap, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/api/incidents/%s/snapshot.jpg", p.ports.dashboard(), inc.id))
	if err != nil {
		t.Fatal(err)
	}
	snap.Body.Close()
	if snap.StatusCode != 200 || snap.Header.Get("Content-Type") != "image/jpeg" {
		t.Fatalf("snapshot: %d %s", snap.StatusCode, snap.Header.Get("Content-Type"))
	}

	// Exactly one notification, even after the outbox had time for more.
	time.Sleep(2 * time.Second)
	if n := in.count("cam-e2e"); n != 1 {
		t.Fatalf("%d notifications for one incident", n)
	}
}
