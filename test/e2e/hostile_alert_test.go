//go:build e2e

package e2e

import (
	"bytes"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/lib/pq"

	"github.com/edgewatch/edgewatch/internal/contract"
)

// Hostile tests of alert and caption: incidents by event time through a
// database outage, clock skew, oversized and malformed requests, huge
// images, forged captions.

// detectionOf is a detection event of class on camera, made at at.
func detectionOf(t testing.TB, class, camera, id string, at time.Time, crop []byte) cloudevents.Event {
	t.Helper()
	raw, err := json.Marshal(contract.Detection{Camera: camera, Class: class, Label: class, Confidence: 0.6,
		Box: contract.Box{X: 10, Y: 10, W: 100, H: 100}, Frame: contract.Frame{Width: 1280, Height: 720},
		Image: base64.StdEncoding.EncodeToString(crop), MotionID: id, Model: "hostile", DetectedAt: at.UTC()})
	if err != nil {
		t.Fatal(err)
	}
	e := cloudevents.NewEvent()
	e.SetID(id)
	e.SetType(contract.DetectionType(class))
	e.SetSource(contract.CameraSource(camera))
	e.SetTime(at)
	e.SetExtension(contract.ExtCamera, camera)
	e.SetExtension(contract.ExtClass, class)
	_ = e.SetData(contract.ContentTypeJSON, raw)
	return e
}

// publish posts e to the broker until the broker accepts it.
func publish(t testing.TB, c *http.Client, url string, e cloudevents.Event) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		status, err := post(c, url, e)
		if err == nil && status/100 == 2 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("broker did not accept %s: %d %v", e.ID(), status, err)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// shownIncidents counts the open and closed incidents of cameras.
func shownIncidents(t testing.TB, db *sql.DB, cams []string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM incidents WHERE camera = ANY($1) AND status IN ('open', 'closed')`,
		pq.Array(cams)).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// storedOf counts the stored detections of cameras, 0 while the database is away.
func storedOf(db *sql.DB, cams []string) int {
	var n int
	_ = db.QueryRow(`SELECT count(*) FROM detections WHERE camera = ANY($1)`, pq.Array(cams)).Scan(&n)
	return n
}

// fireBurst sends, from each of 5 cameras, 3 fire detections 4 s apart by
// their own clock and the wall clock; fault runs once the first of each is
// stored, while the rest are being sent. It returns the incidents the burst
// made once every detection is stored.
func fireBurst(t *testing.T, p *pipeline, prefix string, fault func()) int {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	crop := knifeCrop(t, 96)
	cams := make([]string, 5)
	for i := range cams {
		cams[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	t0 := time.Now()
	for _, cam := range cams {
		publish(t, c, p.brokerURL(), detectionOf(t, "fire", cam, cam+"-0", t0, crop))
	}
	eventually(t, time.Minute, "the first detection of each camera stored", func() bool { return storedOf(p.db, cams) == len(cams) })
	var wg sync.WaitGroup
	wg.Go(func() {
		for k := 1; k <= 2; k++ {
			at := t0.Add(time.Duration(k) * 4 * time.Second)
			time.Sleep(time.Until(at))
			for _, cam := range cams {
				publish(t, c, p.brokerURL(), detectionOf(t, "fire", cam, fmt.Sprintf("%s-%d", cam, k), at, crop))
			}
		}
	})
	if fault != nil {
		fault()
	}
	wg.Wait()
	eventually(t, 4*time.Minute, "every detection stored", func() bool { return storedOf(p.db, cams) == 3*len(cams) })
	time.Sleep(2 * time.Second) // let redeliveries, if any, arrive
	return shownIncidents(t, p.db, cams)
}

// TestHostilePostgresOutage stops PostgreSQL for 30 s right after the first
// detection of a burst: the rest arrive through the broker's retries long
// after alert's clock would have expired their candidates, and must still
// make the same incidents as the burst with the database up.
func TestHostilePostgresOutage(t *testing.T) {
	p := startPipeline(t, options{})
	up := fireBurst(t, p, "pgup", nil)
	down := fireBurst(t, p, "pgdown", func() { restartService(t, "postgres", 30*time.Second) })
	if up != 5 || down != up {
		t.Errorf("incidents: %d with PostgreSQL down 30 s, %d with it up; want 5 and 5", down, up)
	}
	retried := p.metric("alert", "edgewatch_alert_store_errors_total")
	reportHostile(t, hostileResult{
		Test: "PostgreSQL down 30 s in a burst", Load: "5 cameras × 3 fire detections 4 s apart, twice",
		Faults: "1 outage of 30 s", Inputs: "30 detections",
		Lost:    max(up-down, down-up),
		Outcome: fmt.Sprintf("%d incidents (%d without the outage); %.0f database failures answered 503 or retried meanwhile", down, up, retried),
	})
}

// TestHostileClockSkew sends a detection stamped 9999-01-01: it is clamped
// to its receive time and counted, and the camera goes on making incidents.
func TestHostileClockSkew(t *testing.T) {
	p := startPipeline(t, options{})
	c := &http.Client{Timeout: 10 * time.Second}
	crop := knifeCrop(t, 96)
	cams := []string{"skew-1"}
	publish(t, c, p.brokerURL(), detectionOf(t, "fire", "skew-1", "skew-1-far", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), crop))
	eventually(t, time.Minute, "the far-future detection stored", func() bool { return storedOf(p.db, cams) == 1 })
	for i := 1; i <= 2; i++ {
		publish(t, c, p.brokerURL(), detectionOf(t, "fire", "skew-1", fmt.Sprintf("skew-1-%d", i), time.Now(), crop))
	}
	eventually(t, time.Minute, "the next detections stored", func() bool { return storedOf(p.db, cams) == 3 })
	var lastSeen time.Time
	var hits int
	err := p.db.QueryRow(`SELECT last_seen_at, hits FROM incidents WHERE camera = 'skew-1' AND status = 'open'`).Scan(&lastSeen, &hits)
	if err != nil || hits != 3 || lastSeen.After(time.Now().Add(time.Minute)) {
		t.Errorf("incident of the skewed camera: last seen %v, %d hits (%v); want one open with 3 hits, seen now", lastSeen, hits, err)
	}
	clamped := p.metric("alert", "edgewatch_alert_detections_clamped_total", `class="fire"`)
	if clamped != 1 {
		t.Errorf("clamped detections counted %v, want 1", clamped)
	}
	lost := 0
	if err != nil || hits != 3 {
		lost = 1
	}
	reportHostile(t, hostileResult{
		Test: "detection stamped 9999-01-01", Load: "1 camera × 3 fire detections", Faults: "camera clock 7973 years ahead",
		Inputs: "1 far-future detection", Lost: lost,
		Outcome: fmt.Sprintf("clamped to receive time (%.0f counted); camera's incident opened with %d hits, last seen %s",
			clamped, hits, lastSeen.UTC().Format(time.RFC3339)),
	})
}

// hugeJPEG is a small JPEG whose frame header claims w×h pixels.
func hugeJPEG(t testing.TB, w, h int) []byte {
	img := bytes.Clone(knifeCrop(t, 32))
	i := bytes.Index(img, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0 marker")
	}
	img[i+5], img[i+6], img[i+7], img[i+8] = byte(h>>8), byte(h), byte(w>>8), byte(w)
	return img
}

// answer posts body to url with headers and returns the status and body.
func answer(t testing.TB, url string, header map[string]string, body io.Reader, length int64) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, body)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = length
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// binaryHeaders are the headers of a binary-mode event of type typ.
func binaryHeaders(typ, id string) map[string]string {
	return map[string]string{"ce-specversion": "1.0", "ce-id": id, "ce-source": "/cameras/hostile", "ce-type": typ,
		"Content-Type": "application/json"}
}

// TestHostileOversizedBodiesAndHugeImages posts 16 bodies of 50 MB at once
// to alert and caption, declared and chunked, and JPEGs whose headers claim
// 60000×60000 pixels: every one is refused with a 4xx and its reason, and
// alert's resident memory stays bounded.
func TestHostileOversizedBodiesAndHugeImages(t *testing.T) {
	p := startPipeline(t, options{})
	alertURL := fmt.Sprintf("http://127.0.0.1:%d/", p.ports.alert())
	captionURL := fmt.Sprintf("http://127.0.0.1:%d/", p.ports.first()+2)
	pid := p.pidOf("alert")
	before := rssMiB(pid)
	if before == 0 {
		t.Fatalf("no resident memory for alert (pid %d) to measure", pid)
	}
	const size = 50 << 20
	var mu sync.Mutex
	peak, tried, refused := before, 0, 0
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			url, length := alertURL, int64(size)
			if i%4 == 3 {
				url = captionURL
			}
			if i%2 == 1 {
				length = -1 // chunked: no Content-Length to refuse by
			}
			code, body := answer(t, url, binaryHeaders(contract.DetectionType("fire"), fmt.Sprintf("big-%d", i)),
				io.LimitReader(zeros{}, size), length)
			mu.Lock()
			defer mu.Unlock()
			tried++
			if code == http.StatusRequestEntityTooLarge && strings.Contains(body, "allowed") {
				refused++
			} else {
				t.Errorf("50 MB body %d to %s: %d %q, want 413 with a reason", i, url, code, body)
			}
			peak = max(peak, rssMiB(pid))
		})
	}
	wg.Wait()
	peak = max(peak, rssMiB(pid))
	// A declared 50 MB is refused unread; each of the 4 chunked bodies to
	// alert may hold at most its limit while it is read (twice, as the
	// buffer grows), and nothing beyond.
	bound := before + 4*2*float64(contract.MaxEventBytes>>20) + 64
	if peak > bound {
		t.Errorf("alert grew from %.0f MiB to %.0f MiB, beyond %.0f MiB", before, peak, bound)
	}

	crop := hugeJPEG(t, 60000, 60000)
	e := detectionOf(t, "fire", "huge-1", "huge-1-0", time.Now(), crop)
	hdr := binaryHeaders(e.Type(), e.ID())
	hdr["ce-source"] = e.Source()
	code, body := answer(t, alertURL, hdr, bytes.NewReader(e.Data()), int64(len(e.Data())))
	if code != http.StatusBadRequest || !strings.Contains(body, "60000x60000") {
		t.Errorf("detection with a 60000×60000 crop: %d %q", code, body)
	} else {
		refused++
	}
	op := incidentOpened(t, crop)
	hdr = binaryHeaders(op.Type(), op.ID())
	for k, v := range op.Extensions() {
		hdr["ce-"+k] = fmt.Sprint(v)
	}
	code2, body2 := answer(t, captionURL, hdr, bytes.NewReader(op.Data()), int64(len(op.Data())))
	if code2 != http.StatusBadRequest || !strings.Contains(body2, "60000x60000") {
		t.Errorf("incident with a 60000×60000 snapshot to caption: %d %q", code2, body2)
	} else {
		refused++
	}
	tried += 2
	if n := storedOf(p.db, []string{"huge-1"}); n != 0 {
		t.Errorf("%d detections with a huge image stored", n)
	}
	reportHostile(t, hostileResult{
		Test: "oversized bodies and huge images", Load: "16 bodies of 50 MB at once (8 declared, 8 chunked; 12 to alert, 4 to caption)",
		Faults: "none", Inputs: fmt.Sprintf("%d requests", tried), Lost: 0,
		Outcome: fmt.Sprintf("%d refused with a reason (413, or 400 naming 60000x60000); alert RSS %.0f → %.0f MiB peak (bound %.0f)",
			refused, before, peak, bound),
	})
}

// zeros reads as an endless run of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestHostileForgedCaption forges caption.created events: a second caption
// for a captioned incident and one for an incident still a candidate are
// refused, and the caption stays as the VLM wrote it; a redelivery of the
// real caption event is acknowledged and changes nothing.
func TestHostileForgedCaption(t *testing.T) {
	in, v := newInbox(t), vlm(t)
	p := startPipeline(t, options{env: outsideEnv(in, v)})
	c := &http.Client{Timeout: 10 * time.Second}
	alertURL := fmt.Sprintf("http://127.0.0.1:%d/", p.ports.alert())
	crop := knifeCrop(t, 96)
	for i := range 3 {
		publish(t, c, p.brokerURL(), detectionOf(t, "knife", "forge-1", fmt.Sprintf("forge-1-%d", i), time.Now(), crop))
	}
	publish(t, c, p.brokerURL(), detectionOf(t, "knife", "forge-2", "forge-2-0", time.Now(), crop))
	var id, caption, source, eventID string
	eventually(t, 2*time.Minute, "the VLM's caption attached", func() bool {
		return p.db.QueryRow(`SELECT id, caption, caption_source, caption_event_id FROM incidents
			WHERE camera = 'forge-1' AND caption IS NOT NULL`).Scan(&id, &caption, &source, &eventID) == nil
	})
	var candidate string
	eventually(t, time.Minute, "the candidate of forge-2", func() bool {
		return p.db.QueryRow(`SELECT id FROM incidents WHERE camera = 'forge-2' AND status = 'candidate'`).Scan(&candidate) == nil
	})
	forged := func(incidentID, camera, eventID, source, text string) cloudevents.Event {
		e := cloudevents.NewEvent()
		e.SetID(eventID)
		e.SetType(contract.TypeCaptionCreated)
		e.SetSource(source)
		e.SetTime(time.Now())
		e.SetExtension(contract.ExtIncident, incidentID)
		_ = e.SetData(contract.ContentTypeJSON, contract.Caption{IncidentID: incidentID, Camera: camera, Class: "knife",
			Caption: text, Model: "forger", CreatedAt: time.Now().UTC()})
		return e
	}
	send := func(e cloudevents.Event) (int, string) {
		hdr := binaryHeaders(e.Type(), e.ID())
		hdr["ce-source"] = e.Source()
		hdr["ce-incident"] = fmt.Sprint(e.Extensions()[contract.ExtIncident])
		return answer(t, alertURL, hdr, bytes.NewReader(e.Data()), int64(len(e.Data())))
	}
	refusedBefore := p.metric("alert", "edgewatch_alert_events_rejected_total", `reason="caption_refused"`)
	cases := []struct {
		name string
		e    cloudevents.Event
		code int
		want string
	}{
		{"second caption", forged(id, "forge-1", "forged-1", contract.CameraSource("forge-1"), "a forged caption"), 400, "already has a caption"},
		{"same id, another source", forged(id, "forge-1", eventID, "/attacker", "a forged caption"), 400, "already has a caption"},
		{"caption of a candidate", forged(candidate, "forge-2", "forged-2", contract.CameraSource("forge-2"), "early"), 400, "not waiting"},
		{"redelivery of the real caption", forged(id, "forge-1", eventID, source, caption), 200, ""},
	}
	refused := 0
	for _, k := range cases {
		code, body := send(k.e)
		if code != k.code || !strings.Contains(body, k.want) {
			t.Errorf("%s: %d %q, want %d with %q", k.name, code, body, k.code, k.want)
		} else if code == 400 {
			refused++
		}
	}
	// Through the broker too: alert's 400 ends the forged event there.
	publish(t, c, p.brokerURL(), forged(id, "forge-1", "forged-3", contract.CameraSource("forge-1"), "via the broker"))
	eventually(t, time.Minute, "the forged caption through the broker refused", func() bool {
		return p.metric("alert", "edgewatch_alert_events_rejected_total", `reason="caption_refused"`) >= refusedBefore+4
	})
	var now string
	if err := p.db.QueryRow(`SELECT caption FROM incidents WHERE id = $1`, id).Scan(&now); err != nil || now != caption {
		t.Errorf("caption changed from %q to %q (%v)", caption, now, err)
	}
	var candidateCaption sql.NullString
	_ = p.db.QueryRow(`SELECT caption FROM incidents WHERE id = $1`, candidate).Scan(&candidateCaption)
	lost := 0
	if now != caption || candidateCaption.Valid {
		lost = 1
	}
	reportHostile(t, hostileResult{
		Test: "forged caption.created", Load: "2 knife incidents, 1 captioned by the VLM", Faults: "none",
		Inputs: "4 forged captions, 1 redelivery", Lost: lost,
		Outcome: fmt.Sprintf("%d forged refused with 400 and a reason (+1 through the broker), redelivery acknowledged, caption unchanged", refused),
	})
}

// TestHostileMalformedEvents posts malformed events of every content mode to
// alert and caption: each gets a 4xx with the reason in the body.
func TestHostileMalformedEvents(t *testing.T) {
	p := startPipeline(t, options{})
	urls := map[string]string{
		"alert":   fmt.Sprintf("http://127.0.0.1:%d/", p.ports.alert()),
		"caption": fmt.Sprintf("http://127.0.0.1:%d/", p.ports.first()+2),
	}
	structured := map[string]string{"Content-Type": "application/cloudevents+json"}
	cases := []struct {
		name   string
		header map[string]string
		body   string
		code   int
	}{
		{"structured, truncated JSON", structured, `{"specversion":"1.0","id":"x","source":"/x",`, 400},
		{"structured, no id", structured, `{"specversion":"1.0","source":"/x","type":"dev.edgewatch.detection.fire"}`, 400},
		{"structured, data not JSON", structured, `{"specversion":"1.0","id":"x","source":"/x","type":"dev.edgewatch.detection.fire","datacontenttype":"application/json","data":"{"}`, 400},
		{"binary, bad time", map[string]string{"ce-specversion": "1.0", "ce-id": "x", "ce-source": "/x",
			"ce-type": "dev.edgewatch.detection.fire", "ce-time": "yesterday", "Content-Type": "application/json"}, `{}`, 400},
		{"binary, bad data", binaryHeaders(contract.DetectionType("fire"), "bad-data"), `{"camera":`, 400},
		{"batch", map[string]string{"Content-Type": "application/cloudevents-batch+json"},
			`[{"specversion":"1.0","id":"b","source":"/x","type":"dev.edgewatch.detection.fire"}]`, 415},
		{"not a CloudEvent", map[string]string{"Content-Type": "text/plain"}, "hello", 400},
	}
	tried, refused := 0, 0
	for name, url := range urls {
		for _, k := range cases {
			tried++
			code, body := answer(t, url, k.header, strings.NewReader(k.body), int64(len(k.body)))
			if code != k.code || len(body) < 10 {
				t.Errorf("%s, %s: %d %q, want %d with a reason", name, k.name, code, body, k.code)
				continue
			}
			refused++
		}
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/health/readiness", p.ports.alert()))
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("alert is not ready after the malformed events: %v", err)
	}
	if err == nil {
		resp.Body.Close()
	}
	reportHostile(t, hostileResult{
		Test: "malformed events, every content mode", Load: "alert and caption", Faults: "none",
		Inputs: fmt.Sprintf("%d requests", tried), Lost: 0,
		Outcome: fmt.Sprintf("%d answered 4xx with the reason in the body (400; 415 for a batch), both still serving", refused),
	})
}
