package function

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	stdjpeg "image/jpeg"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudevents/sdk-go/v2/event"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/edgewatch/edgewatch/functions/alert/internal/contract"
	"github.com/edgewatch/edgewatch/functions/alert/internal/pgtest"
	"github.com/edgewatch/edgewatch/functions/alert/internal/syncbuf"
	"github.com/edgewatch/edgewatch/functions/alert/postgres"
)

type harness struct {
	f    *Function
	db   *sql.DB
	logs *syncbuf.Buffer
}

// start runs the function on a schema of its own; cfg adds to or overrides
// the defaults.
func start(t *testing.T, cfg map[string]string) *harness {
	t.Helper()
	dsn, _ := pgtest.Schema(t)
	return startOn(t, dsn, dsn, cfg)
}

func startOn(t *testing.T, funcDSN, testDSN string, cfg map[string]string) *harness {
	t.Helper()
	full := map[string]string{
		"DATABASE_URL": funcDSN, "METRICS_ADDRESS": "127.0.0.1:0", "CLOSE_INTERVAL": "100ms",
		"MIN_HITS": "3", "OPEN_SCORE": "0.95", "NOTIFY_POLL": "100ms", "NOTIFY_BACKOFF": "50ms",
	}
	for k, v := range cfg {
		full[k] = v
	}
	logs := &syncbuf.Buffer{}
	f := NewWithDeps(Deps{Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Registry: prometheus.NewRegistry(), HTTPClient: &http.Client{Timeout: 5 * time.Second}})
	if err := f.Start(context.Background(), full); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Stop(context.Background()); err != nil {
			t.Log(err)
		}
	})
	waitFor(t, 10*time.Second, "the function to be ready", func() bool { ok, _ := f.Ready(context.Background()); return ok })
	db, err := sql.Open("postgres", testDSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return &harness{f: f, db: db, logs: logs}
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) count(t *testing.T, query string) int {
	t.Helper()
	var n int
	if err := h.db.QueryRow(query).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// jpeg is a real 16x8 JPEG: alert reads the header of every crop.
var jpeg = func() []byte {
	var b bytes.Buffer
	if err := stdjpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 16, 8)), nil); err != nil {
		panic(err)
	}
	return b.Bytes()
}()

func detectionData(camera, class string, conf float64, at time.Time) map[string]any {
	return map[string]any{
		"camera": camera, "class": class, "label": class, "confidence": conf,
		"box": map[string]any{"x": 1, "y": 2, "w": 30, "h": 40}, "frame": map[string]any{"width": 1280, "height": 720},
		"image": base64.StdEncoding.EncodeToString(jpeg), "motion_id": "m", "location": map[string]any{"lat": 48.85, "lon": 2.35},
		"detected_at": at.UTC().Format(time.RFC3339Nano),
	}
}

func detectionEvent(t *testing.T, id, camera, class string, conf float64, at time.Time) event.Event {
	t.Helper()
	return jsonEvent(t, id, contract.DetectionTypePrefix+class, camera, detectionData(camera, class, conf, at))
}

func jsonEvent(t *testing.T, id, typ, camera string, data any) event.Event {
	t.Helper()
	e := event.New()
	e.SetID(id)
	e.SetType(typ)
	e.SetSource(contract.CameraSource(camera))
	e.SetExtension(contract.ExtCamera, camera)
	if err := e.SetData(contract.ContentTypeJSON, data); err != nil {
		t.Fatal(err)
	}
	return e
}

func status(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var r *cehttp.Result
	if errors.As(err, &r) {
		return r.StatusCode
	}
	return -1
}

func incidentSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	raw, err := os.ReadFile("../../internal/contract/schemas/incident.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	if err := c.AddResource("incident.schema.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("incident.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBurstRepliesOnceWithContractEvent(t *testing.T) {
	h := start(t, nil)
	now := time.Now()
	var replies []*event.Event
	for i := range 8 {
		reply, err := h.f.Handle(context.Background(), detectionEvent(t, fmt.Sprintf("m%d.fire", i), "cam-1", "fire", 0.6, now.Add(time.Duration(i)*200*time.Millisecond)))
		if err != nil {
			t.Fatalf("detection %d: %v", i, err)
		}
		if reply != nil {
			replies = append(replies, reply)
		}
	}
	if len(replies) != 1 {
		t.Fatalf("%d incident.opened replies, want 1", len(replies))
	}
	r := replies[0]
	if err := r.Validate(); err != nil {
		t.Fatal(err)
	}
	inc, _ := extension(*r, contract.ExtIncident)
	if r.Type() != contract.TypeIncidentOpened || r.ID() != "incident-"+inc+".opened" || r.Source() != "/cameras/cam-1" || r.DataContentType() != contract.ContentTypeJSON {
		t.Fatalf("reply attributes: %s", r)
	}
	if cam, _ := extension(*r, contract.ExtCamera); cam != "cam-1" {
		t.Fatalf("camera extension %q", cam)
	}
	if class, _ := extension(*r, contract.ExtClass); class != "fire" {
		t.Fatalf("class extension %q", class)
	}
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Data()))
	if err != nil {
		t.Fatal(err)
	}
	if err := incidentSchema(t).Validate(doc); err != nil {
		t.Fatalf("incident.opened data breaks the contract: %v\n%s", err, r.Data())
	}
	var data contract.Incident
	_ = json.Unmarshal(r.Data(), &data)
	if data.IncidentID != inc || data.Hits != 3 || data.Status != "open" || data.Image == "" || data.DetectionID != "m0.fire" || data.Location == nil {
		t.Fatalf("data %+v", data)
	}
	if got := h.count(t, `SELECT count(*) FROM incidents`); got != 1 {
		t.Fatalf("%d incidents, want 1", got)
	}
	if got := h.count(t, `SELECT count(*) FROM detections`); got != 8 {
		t.Fatalf("%d detections, want 8", got)
	}
}

func TestRedeliveryIsIdempotent(t *testing.T) {
	h := start(t, nil)
	now := time.Now()
	ctx := context.Background()
	var opener *event.Event
	events := make([]event.Event, 3)
	for i := range events {
		events[i] = detectionEvent(t, fmt.Sprintf("m%d.gun", i), "cam-1", "gun", 0.5, now.Add(time.Duration(i)*time.Second))
		r, err := h.f.Handle(ctx, events[i])
		if err != nil {
			t.Fatal(err)
		}
		if r != nil {
			opener = r
		}
	}
	// The broker retries the opener (say its reply was lost): the same
	// opened event comes back, and nothing is stored twice.
	again, err := h.f.Handle(ctx, events[2])
	if err != nil || again == nil || again.ID() != opener.ID() {
		t.Fatalf("redelivered opener replied %v (%v), want %s", again, err, opener.ID())
	}
	if r, err := h.f.Handle(ctx, events[0]); err != nil || r != nil {
		t.Fatalf("redelivered non-opener replied %v (%v)", r, err)
	}
	if got := h.count(t, `SELECT count(*) FROM detections`); got != 3 {
		t.Fatalf("%d detections, want 3", got)
	}
	if got := h.count(t, `SELECT hits FROM incidents`); got != 3 {
		t.Fatalf("hits %d, want 3", got)
	}
}

// TestDetectedAtFromEventTime stores a detection whose data has no
// detected_at at its CloudEvent time.
func TestDetectedAtFromEventTime(t *testing.T) {
	h := start(t, nil)
	at := time.Now().UTC().Truncate(time.Microsecond)
	data := detectionData("cam-1", "fire", 0.9, at)
	delete(data, "detected_at")
	e := jsonEvent(t, "m-t.fire", contract.DetectionTypePrefix+"fire", "cam-1", data)
	e.SetTime(at)
	if _, err := h.f.Handle(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	var stored time.Time
	if err := h.db.QueryRow(`SELECT detected_at FROM detections WHERE event_id = 'm-t.fire'`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if !stored.Equal(at) {
		t.Fatalf("detected_at stored %v, want the event time %v", stored, at)
	}
}

func TestTwoCamerasTwoIncidents(t *testing.T) {
	h := start(t, nil)
	now := time.Now()
	replies := 0
	for i := range 6 {
		cam := []string{"north", "south"}[i%2]
		r, err := h.f.Handle(context.Background(), detectionEvent(t, fmt.Sprintf("m%d.knife", i), cam, "knife", 0.5, now.Add(time.Duration(i)*time.Second)))
		if err != nil {
			t.Fatal(err)
		}
		if r != nil {
			replies++
		}
	}
	if replies != 2 || h.count(t, `SELECT count(*) FROM incidents WHERE status = 'open'`) != 2 {
		t.Fatalf("%d replies; want two open incidents", replies)
	}
}

func TestQuietIncidentCloses(t *testing.T) {
	h := start(t, map[string]string{"INCIDENT_QUIET": "300ms", "OPEN_SCORE": "0.5", "DELIVERY_HORIZON": "1ms"})
	if _, err := h.f.Handle(context.Background(), detectionEvent(t, "m.fire", "cam-1", "fire", 0.9, time.Now())); err != nil {
		t.Fatal(err)
	}
	if h.count(t, `SELECT count(*) FROM incidents WHERE status = 'open'`) != 1 {
		t.Fatal("a 0.9 detection did not open an incident with OPEN_SCORE 0.5")
	}
	waitFor(t, 10*time.Second, "the closer", func() bool {
		return h.count(t, `SELECT count(*) FROM incidents WHERE status = 'closed' AND closed_at IS NOT NULL`) == 1
	})
	waitFor(t, 2*time.Second, "the closed metric", func() bool {
		return strings.Contains(scrape(t, h.f), `edgewatch_alert_incidents_closed_total{class="fire"} 1`)
	})
}

func TestCaptionAttaches(t *testing.T) {
	h := start(t, map[string]string{"OPEN_SCORE": "0.5"})
	ctx := context.Background()
	r, err := h.f.Handle(ctx, detectionEvent(t, "m.knife", "cam-1", "knife", 0.9, time.Now()))
	if err != nil || r == nil {
		t.Fatalf("no opened reply: %v", err)
	}
	inc, _ := extension(*r, contract.ExtIncident)
	caption := map[string]any{"incident_id": inc, "detection_id": "m.knife", "camera": "cam-1", "class": "knife",
		"caption": "a man in a grey hoodie", "model": "smolvlm", "created_at": time.Now().UTC().Format(time.RFC3339)}
	ce := jsonEvent(t, "caption-"+inc, contract.TypeCaptionCreated, "cam-1", caption)
	ce.SetExtension(contract.ExtIncident, inc)
	for range 2 {
		if _, err := h.f.Handle(ctx, ce); err != nil {
			t.Fatal(err)
		}
	}
	var got string
	if err := h.db.QueryRow(`SELECT caption FROM incidents WHERE id = $1`, inc).Scan(&got); err != nil || got != "a man in a grey hoodie" {
		t.Fatalf("caption %q (%v)", got, err)
	}
	forged := map[string]any{}
	for k, v := range caption {
		forged[k] = v
	}
	forged["caption"] = "forged"
	_, err = h.f.Handle(ctx, jsonEvent(t, "forged-"+inc, contract.TypeCaptionCreated, "cam-1", forged))
	if status(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "already has a caption") {
		t.Fatalf("a second caption: %v", err)
	}
	if err := h.db.QueryRow(`SELECT caption FROM incidents WHERE id = $1`, inc).Scan(&got); err != nil || got != "a man in a grey hoodie" {
		t.Fatalf("caption after a second one %q (%v)", got, err)
	}
	caption["incident_id"] = "00000000-0000-4000-8000-000000000000"
	if _, err := h.f.Handle(ctx, jsonEvent(t, "caption-x", contract.TypeCaptionCreated, "cam-1", caption)); status(err) != http.StatusBadRequest {
		t.Fatalf("caption of an unknown incident: %v", err)
	}
	m := scrape(t, h.f)
	for _, want := range []string{"edgewatch_alert_captions_attached_total 1", "edgewatch_alert_captions_duplicate_total 1",
		`edgewatch_alert_events_rejected_total{reason="caption_refused"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestFarFutureDetectionIsClamped sends a detection stamped 9999-01-01: it
// is stored at its receive time and counted, and the camera's next
// detections still make and end incidents by their own times.
func TestFarFutureDetectionIsClamped(t *testing.T) {
	h := start(t, map[string]string{"OPEN_SCORE": "0.5", "INCIDENT_GAP": "2s"})
	ctx := context.Background()
	future := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	before := time.Now()
	if _, err := h.f.Handle(ctx, detectionEvent(t, "far.fire", "cam-1", "fire", 0.9, future)); err != nil {
		t.Fatal(err)
	}
	var at time.Time
	if err := h.db.QueryRow(`SELECT detected_at FROM detections WHERE event_id = 'far.fire'`).Scan(&at); err != nil {
		t.Fatal(err)
	}
	if at.Year() == 9999 || at.Before(before.Add(-time.Second)) {
		t.Fatalf("detected_at stored as %v, want about %v", at, before)
	}
	if !strings.Contains(scrape(t, h.f), `edgewatch_alert_detections_clamped_total{class="fire"} 1`) {
		t.Fatal("the clamp is not counted")
	}
	later := time.Now().Add(time.Minute)
	if _, err := h.f.Handle(ctx, detectionEvent(t, "later.fire", "cam-1", "fire", 0.9, later)); err != nil {
		t.Fatal(err)
	}
	if n := h.count(t, `SELECT count(*) FROM incidents WHERE camera = 'cam-1'`); n != 2 {
		t.Fatalf("%d incidents, want 2: the next detection, a minute on, ends the clamped one", n)
	}
}

func TestDeadLetterIsTruncatedBeyondItsCap(t *testing.T) {
	h := start(t, map[string]string{"DEAD_LETTER_MAX_BYTES": "1024"})
	e := jsonEvent(t, "big-dl", "dev.example.other", "cam-1", map[string]any{"pad": strings.Repeat("x", 4096)})
	e.SetExtension(contract.ExtErrorDest, "http://somewhere")
	if _, err := h.f.Handle(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	var n, size int
	var truncated bool
	if err := h.db.QueryRow(`SELECT length(event), event_bytes, truncated FROM dead_letters WHERE event_id = 'big-dl'`).Scan(&n, &size, &truncated); err != nil {
		t.Fatal(err)
	}
	if n != 1024 || size <= 4096 || !truncated {
		t.Fatalf("stored %d of %d bytes, truncated=%v", n, size, truncated)
	}
	if !strings.Contains(scrape(t, h.f), "edgewatch_alert_dead_letters_truncated_total 1") {
		t.Fatal("the truncation is not counted")
	}
}

func TestBadInputIsRejectedAndNothingStored(t *testing.T) {
	h := start(t, nil)
	now := time.Now()
	good := func() map[string]any { return detectionData("cam-1", "fire", 0.5, now) }
	withData := func(id, typ string, ct string, raw []byte) event.Event {
		e := event.New()
		e.SetID(id)
		e.SetType(typ)
		e.SetSource("/cameras/cam-1")
		_ = e.SetData(ct, raw)
		return e
	}
	mutated := func(f func(m map[string]any)) []byte {
		m := good()
		f(m)
		raw, _ := json.Marshal(m)
		return raw
	}
	goodRaw, _ := json.Marshal(good())
	mismatch := detectionEvent(t, "m.fire", "cam-1", "fire", 0.5, now)
	mismatch.SetExtension(contract.ExtCamera, "cam-2")
	cases := map[string]event.Event{
		"unknown type":                 withData("a", "dev.edgewatch.something", contract.ContentTypeJSON, goodRaw),
		"unknown class":                withData("b", contract.DetectionTypePrefix+"cat", contract.ContentTypeJSON, goodRaw),
		"class differs":                withData("c", contract.DetectionTypePrefix+"gun", contract.ContentTypeJSON, goodRaw),
		"wrong content type":           withData("d", contract.DetectionTypePrefix+"fire", "image/jpeg", jpeg),
		"invalid JSON":                 withData("e", contract.DetectionTypePrefix+"fire", contract.ContentTypeJSON, []byte(`{"camera": "cam-1",`)),
		"missing fields":               withData("f", contract.DetectionTypePrefix+"fire", contract.ContentTypeJSON, []byte(`{"camera": "cam-1", "class": "fire"}`)),
		"huge label":                   withData("g", contract.DetectionTypePrefix+"fire", contract.ContentTypeJSON, mutated(func(m map[string]any) { m["label"] = strings.Repeat("x", 1<<20) })),
		"SQL in the camera":            withData("h", contract.DetectionTypePrefix+"fire", contract.ContentTypeJSON, mutated(func(m map[string]any) { m["camera"] = "x'; DROP TABLE incidents; --" })),
		"image not a JPEG":             withData("i", contract.DetectionTypePrefix+"fire", contract.ContentTypeJSON, mutated(func(m map[string]any) { m["image"] = "R0lGODlhAQABAAAAACw=" })),
		"camera extension lies":        mismatch,
		"caption without data":         withData("j", contract.TypeCaptionCreated, contract.ContentTypeJSON, []byte(`{}`)),
		"neither detected_at nor time": withData("k", contract.DetectionTypePrefix+"fire", contract.ContentTypeJSON, mutated(func(m map[string]any) { delete(m, "detected_at") })),
	}
	for name, e := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := h.f.Handle(context.Background(), e)
			if status(err) != http.StatusBadRequest {
				t.Fatalf("status %d (%v), want 400", status(err), err)
			}
			if len(err.Error()) < 10 || len(err.Error()) > 1000 {
				t.Fatalf("reason %q", err.Error())
			}
		})
	}
	if n := h.count(t, `SELECT (SELECT count(*) FROM detections) + (SELECT count(*) FROM incidents) + (SELECT count(*) FROM dead_letters)`); n != 0 {
		t.Fatalf("%d rows stored from bad input", n)
	}
	if line := grep(scrape(t, h.f), `edgewatch_alert_events_rejected_total{reason="data"}`); line == "" || strings.HasSuffix(line, " 0") {
		t.Fatalf("rejections are not counted: %q", line)
	}
}

func TestDeadLetters(t *testing.T) {
	h := start(t, map[string]string{"OPEN_SCORE": "0.5"})
	ctx := context.Background()
	motion := event.New()
	motion.SetID("motion-1")
	motion.SetType("dev.edgewatch.motion.detected")
	motion.SetSource("/cameras/cam-1")
	_ = motion.SetData("image/jpeg", jpeg)
	motion.SetExtension(contract.ExtErrorDest, "http://detect.edgewatch.svc.cluster.local")
	motion.SetExtension(contract.ExtErrorCode, "503")
	det := detectionEvent(t, "motion-2.fire", "cam-1", "fire", 0.9, time.Now())
	det.SetExtension(contract.ExtErrorDest, "http://alert.edgewatch.svc.cluster.local")
	det.SetExtension(contract.ExtErrorCode, "-1")
	for range 2 {
		if r, err := h.f.Handle(ctx, motion); err != nil || r != nil {
			t.Fatalf("dead motion event: %v %v", r, err)
		}
		r, err := h.f.Handle(ctx, det)
		if err != nil || r == nil {
			t.Fatalf("a dead-lettered detection was not processed: %v", err)
		}
	}
	if n := h.count(t, `SELECT count(*) FROM dead_letters`); n != 2 {
		t.Fatalf("%d dead letters, want 2", n)
	}
	if n := h.count(t, `SELECT count(*) FROM detections`); n != 1 {
		t.Fatalf("%d detections from a twice dead-lettered detection, want 1", n)
	}
	var raw []byte
	if err := h.db.QueryRow(`SELECT event FROM dead_letters WHERE event_id = 'motion-1'`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	var back event.Event
	if err := json.Unmarshal(raw, &back); err != nil || !bytes.Equal(back.Data(), jpeg) {
		t.Fatalf("the stored dead letter cannot be replayed: %v", err)
	}
	m := scrape(t, h.f)
	if !strings.Contains(m, `edgewatch_alert_dead_letters_total{type="dev.edgewatch.motion.detected"} 2`) {
		t.Fatalf("dead letter metric missing:\n%s", grep(m, "dead_letters"))
	}
}

func TestDatabaseOutageAnswers503AndRecovers(t *testing.T) {
	dsn, _ := pgtest.Schema(t)
	proxy := pgtest.NewProxy(t)
	h := startOn(t, pgtest.WithHost(dsn, proxy.Addr()), dsn, nil)
	ctx := context.Background()
	now := time.Now()
	if _, err := h.f.Handle(ctx, detectionEvent(t, "a.fire", "cam-1", "fire", 0.5, now)); err != nil {
		t.Fatal(err)
	}
	proxy.Cut()
	e := detectionEvent(t, "b.fire", "cam-1", "fire", 0.5, now.Add(time.Second))
	for range 3 {
		if _, err := h.f.Handle(ctx, e); status(err) != http.StatusServiceUnavailable {
			t.Fatalf("with the database away: status %d (%v), want 503", status(err), err)
		}
	}
	proxy.Restore()
	// The broker's retry of the same event now succeeds; nothing was lost.
	waitFor(t, 10*time.Second, "recovery", func() bool {
		_, err := h.f.Handle(ctx, e)
		return err == nil
	})
	if _, err := h.f.Handle(ctx, detectionEvent(t, "c.fire", "cam-1", "fire", 0.5, now.Add(2*time.Second))); err != nil {
		t.Fatal(err)
	}
	if n := h.count(t, `SELECT count(*) FROM detections`); n != 3 {
		t.Fatalf("%d detections after the outage, want 3", n)
	}
	if n := h.count(t, `SELECT hits FROM incidents WHERE status = 'open'`); n != 3 {
		t.Fatalf("hits %d, want 3", n)
	}
	if line := grep(scrape(t, h.f), `edgewatch_alert_store_errors_total{op="store detection"}`); line == "" || strings.HasSuffix(line, " 0") {
		t.Fatalf("the outage was not counted: %q", line)
	}
}

func TestNotReadyAnswers503(t *testing.T) {
	f := NewWithDeps(Deps{Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), HTTPClient: http.DefaultClient})
	if _, err := f.Handle(context.Background(), detectionEvent(t, "a.fire", "cam-1", "fire", 0.5, time.Now())); status(err) != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", status(err))
	}
}

func TestStartRejectsBadConfig(t *testing.T) {
	for name, cfg := range map[string]map[string]string{
		"no database":  {},
		"bad gap":      {"DATABASE_URL": "postgres://x/y", "INCIDENT_GAP": "soon"},
		"bad class":    {"DATABASE_URL": "postgres://x/y", "NOTIFY_WEBHOOK_URL": "http://h/", "NOTIFY_WEBHOOK_CLASSES": "cat"},
		"bad priority": {"DATABASE_URL": "postgres://x/y", "NOTIFY_NTFY_URL": "http://h/topic", "NOTIFY_NTFY_PRIORITY": "9"},
	} {
		f := NewWithDeps(Deps{Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), HTTPClient: http.DefaultClient})
		if err := f.Start(context.Background(), cfg); err == nil {
			t.Errorf("%s: Start accepted %v", name, cfg)
		}
	}
}

// TestNotificationAfterCommit runs the whole path: a detection opens an
// incident, the outbox row is sent to a webhook, and the channel's secret
// never reaches the log.
func TestNotificationAfterCommit(t *testing.T) {
	var mu sync.Mutex
	var got []map[string]any
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 1 {
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
		var m map[string]any
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &m)
		m["authorization"] = r.Header.Get("Authorization")
		got = append(got, m)
	}))
	defer srv.Close()
	const secret = "s3cr3t-token-value"
	h := start(t, map[string]string{"OPEN_SCORE": "0.5", "NOTIFY_WEBHOOK_URL": srv.URL + "/hook/" + secret,
		"NOTIFY_WEBHOOK_AUTHORIZATION": "Bearer " + secret, "DASHBOARD_URL": "https://map.example"})
	if _, err := h.f.Handle(context.Background(), detectionEvent(t, "m.fire", "cam-1", "fire", 0.9, time.Now())); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the webhook", func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 })
	mu.Lock()
	m := got[0]
	mu.Unlock()
	if m["kind"] != "opened" || m["authorization"] != "Bearer "+secret || !strings.HasPrefix(fmt.Sprint(m["link"]), "https://map.example/?incident=") {
		t.Fatalf("webhook got %v", m)
	}
	waitFor(t, 5*time.Second, "the sent mark", func() bool {
		return h.count(t, `SELECT count(*) FROM notifications WHERE status = 'sent' AND attempts = 2`) == 1
	})
	if strings.Contains(h.logs.String(), secret) {
		t.Fatalf("the secret reached the log:\n%s", h.logs.String())
	}
	if !strings.Contains(scrape(t, h.f), `edgewatch_alert_notifications_sent_total{channel="webhook"} 1`) {
		t.Fatal("sent notification not counted")
	}
}

func scrape(t *testing.T, f *Function) string {
	t.Helper()
	resp, err := http.Get("http://" + f.metricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

// TestUnreachableDatabaseAtStart points the function at a port nobody
// listens on: it starts, stays unready, answers 503, and stops cleanly.
func TestUnreachableDatabaseAtStart(t *testing.T) {
	proxy := pgtest.NewProxy(t)
	proxy.Cut()
	dsn, _ := pgtest.Schema(t)
	f := NewWithDeps(Deps{Logger: slog.New(slog.DiscardHandler), Registry: prometheus.NewRegistry(), HTTPClient: http.DefaultClient})
	if err := f.Start(context.Background(), map[string]string{"DATABASE_URL": pgtest.WithHost(dsn, proxy.Addr()), "METRICS_ADDRESS": "off"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	if ok, _ := f.Ready(context.Background()); ok {
		t.Fatal("ready without a database")
	}
	if _, err := f.Handle(context.Background(), detectionEvent(t, "a.fire", "cam-1", "fire", 0.5, time.Now())); status(err) != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", status(err))
	}
	// The database comes up: the migration retry succeeds.
	proxy.Restore()
	waitFor(t, 15*time.Second, "readiness after the database came up", func() bool { ok, _ := f.Ready(context.Background()); return ok })
	if _, err := f.Handle(context.Background(), detectionEvent(t, "a.fire", "cam-1", "fire", 0.5, time.Now())); err != nil {
		t.Fatal(err)
	}
	if err := f.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestTwoReplicasOneIncident runs two function instances on one schema (as
// two replicas would be) and feeds them one burst concurrently.
func TestTwoReplicasOneIncident(t *testing.T) {
	dsn, _ := pgtest.Schema(t)
	a := startOn(t, dsn, dsn, nil)
	b := startOn(t, dsn, dsn, nil)
	now := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var replies []string
	for i := range 20 {
		f := []*Function{a.f, b.f}[i%2]
		wg.Go(func() {
			r, err := f.Handle(context.Background(), detectionEvent(t, fmt.Sprintf("m%d.gun", i), "cam-1", "gun", 0.5, now.Add(time.Duration(i)*100*time.Millisecond)))
			if err != nil {
				t.Error(err)
				return
			}
			if r != nil {
				mu.Lock()
				replies = append(replies, r.ID())
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(replies) != 1 {
		t.Fatalf("opened replies %v, want exactly one", replies)
	}
	if n := a.count(t, `SELECT count(*) FROM incidents`); n != 1 {
		t.Fatalf("%d incidents, want 1", n)
	}
	if n := a.count(t, `SELECT hits FROM incidents`); n != 20 {
		t.Fatalf("hits %d, want 20", n)
	}
	if n := a.count(t, `SELECT count(*) FROM schema_migrations`); n != postgres.SchemaVersion() {
		t.Fatalf("%d migration rows after two replicas started", n)
	}
}

func TestCaptionOfAnUncaptionedClassIsRefused(t *testing.T) {
	h := start(t, map[string]string{"OPEN_SCORE": "0.5"})
	ctx := context.Background()
	r, err := h.f.Handle(ctx, detectionEvent(t, "m.fire", "cam-1", "fire", 0.9, time.Now()))
	if err != nil || r == nil {
		t.Fatalf("no opened reply: %v", err)
	}
	inc, _ := extension(*r, contract.ExtIncident)
	caption := map[string]any{"incident_id": inc, "camera": "cam-1", "class": "fire",
		"caption": "forged", "model": "m", "created_at": time.Now().UTC().Format(time.RFC3339)}
	_, err = h.f.Handle(ctx, jsonEvent(t, "forged", contract.TypeCaptionCreated, "cam-1", caption))
	if status(err) != http.StatusBadRequest || !strings.Contains(err.Error(), "not captioned") {
		t.Fatalf("a caption of a fire incident: %v", err)
	}
	if n := h.count(t, `SELECT count(*) FROM incidents WHERE caption IS NOT NULL`); n != 0 {
		t.Fatal("a fire incident took a caption")
	}
}
