package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/edgewatch/edgewatch/functions/alert/incident"
	"github.com/edgewatch/edgewatch/functions/alert/internal/pgtest"
)

var t0 = time.Now().UTC().Truncate(time.Millisecond)

func testPolicy() incident.Policy {
	return incident.Policy{Gap: 10 * time.Second, Quiet: time.Minute, MinHits: 3, OpenScore: 0.95, Window: 10}
}

func newStore(t *testing.T, opts Options) (*Store, *sql.DB, string) {
	t.Helper()
	dsn, schema := pgtest.Schema(t)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := Migrate(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	if opts.Policy == (incident.Policy{}) {
		opts.Policy = testPolicy()
	}
	s, err := New(db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, db, schema
}

func det(id, camera, class string, at time.Duration, conf float64) incident.Detection {
	return incident.Detection{
		EventID: id, Camera: camera, Class: class, Label: class, Confidence: conf,
		Box: incident.Box{X: 1, Y: 2, W: 3, H: 4}, FrameWidth: 640, FrameHeight: 480,
		Image: []byte{0xFF, 0xD8, 0xFF, 0xE0, byte(conf * 100)}, MotionID: "m-" + id,
		Location: &incident.Location{Lat: 37.5, Lon: 127}, DetectedAt: t0.Add(at),
		Source: "/cameras/" + camera, ReceivedAt: t0.Add(at),
	}
}

func count(t *testing.T, db *sql.DB, query string, args ...any) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestMigrateConcurrentlyAppliesOnce(t *testing.T) {
	dsn, _ := pgtest.Schema(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Go(func() {
			db, err := sql.Open("postgres", dsn)
			if err != nil {
				errs <- err
				return
			}
			defer db.Close()
			_, err = Migrate(context.Background(), db)
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	db, _ := sql.Open("postgres", dsn)
	defer db.Close()
	if n := count(t, db, `SELECT count(*) FROM schema_migrations`); n != SchemaVersion() {
		t.Fatalf("%d migrations recorded, want %d", n, SchemaVersion())
	}
	applied, err := Migrate(context.Background(), db)
	if err != nil || len(applied) != 0 {
		t.Fatalf("a second run applied %v (%v)", applied, err)
	}
}

func TestBurstMakesExactlyOneIncident(t *testing.T) {
	s, db, _ := newStore(t, Options{})
	const n = 24
	var wg sync.WaitGroup
	var mu sync.Mutex
	opened := 0
	for i := range n {
		wg.Go(func() {
			out, err := s.StoreDetection(context.Background(), det(fmt.Sprintf("e%d", i), "cam-1", "fire", time.Duration(i)*100*time.Millisecond, 0.5))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			if out.Opened {
				opened++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	if got := count(t, db, `SELECT count(*) FROM incidents`); got != 1 {
		t.Fatalf("%d incidents, want 1", got)
	}
	if got := count(t, db, `SELECT hits FROM incidents WHERE status = 'open'`); got != n {
		t.Fatalf("hits %d, want %d", got, n)
	}
	if got := count(t, db, `SELECT count(*) FROM detections`); got != n {
		t.Fatalf("%d detections stored, want %d", got, n)
	}
	if opened != 1 {
		t.Fatalf("%d detections reported opening the incident, want 1", opened)
	}
}

func TestSameEventTwiceIsStoredOnce(t *testing.T) {
	s, db, _ := newStore(t, Options{})
	ctx := context.Background()
	var last Outcome
	for i := range 3 {
		out, err := s.StoreDetection(ctx, det(fmt.Sprintf("e%d", i), "cam-1", "gun", time.Duration(i)*time.Second, 0.6))
		if err != nil {
			t.Fatal(err)
		}
		last = out
	}
	if !last.Opened {
		t.Fatal("the third detection did not open the incident")
	}
	var before string
	if err := db.QueryRow(`SELECT row_to_json(i)::text FROM incidents i`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	again, err := s.StoreDetection(ctx, det("e2", "cam-1", "gun", 2*time.Second, 0.6))
	if err != nil {
		t.Fatal(err)
	}
	if !again.Duplicate || !again.Opened || again.Incident.ID != last.Incident.ID || len(again.Incident.Snapshot) == 0 {
		t.Fatalf("redelivered opener: %+v", again)
	}
	other, err := s.StoreDetection(ctx, det("e0", "cam-1", "gun", 0, 0.6))
	if err != nil || !other.Duplicate || other.Opened {
		t.Fatalf("redelivered non-opener: %+v %v", other, err)
	}
	var after string
	if err := db.QueryRow(`SELECT row_to_json(i)::text FROM incidents i`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Fatalf("a redelivery changed the incident:\n%s\n%s", before, after)
	}
	if got := count(t, db, `SELECT count(*) FROM detections`); got != 3 {
		t.Fatalf("%d detections, want 3", got)
	}
}

func TestTwoCamerasMakeTwoIncidents(t *testing.T) {
	s, db, _ := newStore(t, Options{})
	for i := range 6 {
		cam := []string{"cam-a", "cam-b"}[i%2]
		if _, err := s.StoreDetection(context.Background(), det(fmt.Sprintf("e%d", i), cam, "knife", time.Duration(i)*time.Second, 0.6)); err != nil {
			t.Fatal(err)
		}
	}
	if got := count(t, db, `SELECT count(*) FROM incidents WHERE status = 'open'`); got != 2 {
		t.Fatalf("%d open incidents, want 2", got)
	}
	if got := count(t, db, `SELECT count(DISTINCT camera) FROM incidents`); got != 2 {
		t.Fatalf("incidents of %d cameras, want 2", got)
	}
}

func TestQuietPeriodCloses(t *testing.T) {
	s, db, _ := newStore(t, Options{Channels: func(string) []string { return []string{"webhook"} }, NotifyOnClose: true})
	ctx := context.Background()
	for i := range 3 {
		if _, err := s.StoreDetection(ctx, det(fmt.Sprintf("e%d", i), "cam-1", "fire", time.Duration(i)*time.Second, 0.6)); err != nil {
			t.Fatal(err)
		}
	}
	// Not yet quiet.
	closed, _, err := s.CloseQuiet(ctx, t0.Add(30*time.Second))
	if err != nil || len(closed) != 0 {
		t.Fatalf("closed %d within the quiet period (%v)", len(closed), err)
	}
	closed, queued, err := s.CloseQuiet(ctx, t0.Add(2*time.Second+time.Minute+time.Second))
	if err != nil || len(closed) != 1 || !queued {
		t.Fatalf("closed %d, queued %v (%v)", len(closed), queued, err)
	}
	var closedAt time.Time
	if err := db.QueryRow(`SELECT closed_at FROM incidents WHERE status = 'closed'`).Scan(&closedAt); err != nil {
		t.Fatal(err)
	}
	if want := t0.Add(2*time.Second + time.Minute); !closedAt.Equal(want) {
		t.Fatalf("closed_at %v, want %v (last seen + quiet)", closedAt, want)
	}
	if got := count(t, db, `SELECT count(*) FROM notifications WHERE kind = 'closed'`); got != 1 {
		t.Fatalf("%d close notifications queued, want 1", got)
	}
}

func TestNextDetectionClosesLazily(t *testing.T) {
	s, db, _ := newStore(t, Options{})
	ctx := context.Background()
	for i := range 3 {
		if _, err := s.StoreDetection(ctx, det(fmt.Sprintf("e%d", i), "cam-1", "fire", time.Duration(i)*time.Second, 0.6)); err != nil {
			t.Fatal(err)
		}
	}
	out, err := s.StoreDetection(ctx, det("late", "cam-1", "fire", 5*time.Minute, 0.6))
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Ended) != 1 || out.Ended[0].Status != incident.StatusClosed || out.Incident.Status != incident.StatusCandidate {
		t.Fatalf("late detection: ended %+v, now %s", out.Ended, out.Incident.Status)
	}
	if got := count(t, db, `SELECT count(*) FROM incidents`); got != 2 {
		t.Fatalf("%d incidents, want 2", got)
	}
}

func TestCandidateExpires(t *testing.T) {
	s, db, _ := newStore(t, Options{})
	ctx := context.Background()
	if _, err := s.StoreDetection(ctx, det("a", "cam-1", "accident", 0, 0.5)); err != nil {
		t.Fatal(err)
	}
	// Past the gap: the lone candidate expires and a new one starts.
	if _, err := s.StoreDetection(ctx, det("b", "cam-1", "accident", 20*time.Second, 0.5)); err != nil {
		t.Fatal(err)
	}
	if got := count(t, db, `SELECT count(*) FROM incidents WHERE status = 'expired'`); got != 1 {
		t.Fatalf("%d expired candidates, want 1", got)
	}
	if got := count(t, db, `SELECT count(*) FROM incidents WHERE status IN ('open', 'closed')`); got != 0 {
		t.Fatalf("%d shown incidents from two scattered detections, want 0", got)
	}
}

func TestCaptionAttaches(t *testing.T) {
	s, db, _ := newStore(t, Options{})
	ctx := context.Background()
	var inc incident.Incident
	for i := range 3 {
		out, err := s.StoreDetection(ctx, det(fmt.Sprintf("e%d", i), "cam-1", "gun", time.Duration(i)*time.Second, 0.6))
		if err != nil {
			t.Fatal(err)
		}
		inc = out.Incident
	}
	c := incident.Caption{EventID: "caption-" + inc.ID, Source: "/cameras/cam-1", IncidentID: inc.ID, Camera: "cam-1", Class: "gun",
		Caption: "a person in a red coat'); DROP TABLE incidents; --", Model: "smolvlm", CreatedAt: t0}
	for i, want := range []bool{false, true} {
		if dup, err := s.AttachCaption(ctx, c); err != nil || dup != want {
			t.Fatalf("attach %d: duplicate=%v (%v), want %v", i, dup, err, want)
		}
	}
	got, err := s.Incident(ctx, inc.ID)
	if err != nil || got.Caption != c.Caption || got.CaptionModel != "smolvlm" {
		t.Fatalf("caption %q model %q (%v)", got.Caption, got.CaptionModel, err)
	}
	// A second caption, forged or not, from another event id or another
	// source, is refused and changes nothing.
	for _, other := range []incident.Caption{
		{EventID: "forged", Source: "/cameras/cam-1", IncidentID: inc.ID, Camera: "cam-1", Class: "gun", Caption: "forged", Model: "m"},
		{EventID: c.EventID, Source: "/attacker", IncidentID: inc.ID, Camera: "cam-1", Class: "gun", Caption: "forged", Model: "m"},
	} {
		if _, err := s.AttachCaption(ctx, other); !errors.Is(err, ErrCaptionRefused) {
			t.Errorf("%+v: want ErrCaptionRefused, got %v", other, err)
		}
	}
	if got, _ := s.Incident(ctx, inc.ID); got.Caption != c.Caption {
		t.Fatalf("caption changed to %q", got.Caption)
	}
	for _, bad := range []incident.Caption{
		{IncidentID: "00000000-0000-4000-8000-000000000000", Camera: "cam-1", Class: "gun", Caption: "x", Model: "m"},
		{IncidentID: inc.ID, Camera: "cam-2", Class: "gun", Caption: "x", Model: "m"},
		{IncidentID: "not-a-uuid", Camera: "cam-1", Class: "gun", Caption: "x", Model: "m"},
	} {
		if _, err := s.AttachCaption(ctx, bad); !errors.Is(err, ErrUnknownIncident) {
			t.Errorf("%+v: want ErrUnknownIncident, got %v", bad, err)
		}
	}
	if got := count(t, db, `SELECT count(*) FROM incidents`); got != 1 {
		t.Fatal("the incidents table changed")
	}
}

func TestDeadLetterRecordedOnce(t *testing.T) {
	s, db, _ := newStore(t, Options{})
	code := 503
	dl := DeadLetter{EventID: "m-1", Type: "dev.edgewatch.motion.detected", Source: "/cameras/cam-1",
		ErrorDest: "http://detect", ErrorCode: &code, Event: []byte(`{"id":"m-1"}`)}
	for i, want := range []bool{true, false} {
		fresh, err := s.RecordDeadLetter(context.Background(), dl)
		if err != nil || fresh != want {
			t.Fatalf("record %d: new=%v (%v)", i, fresh, err)
		}
	}
	if got := count(t, db, `SELECT count(*) FROM dead_letters WHERE error_code = 503`); got != 1 {
		t.Fatalf("%d dead letters, want 1", got)
	}
}

func TestCooldownSuppressesRepeatNotifications(t *testing.T) {
	s, db, _ := newStore(t, Options{Channels: func(class string) []string {
		if class == "fire" {
			return []string{"webhook", "x"}
		}
		return []string{"webhook"}
	}, Cooldown: time.Hour})
	ctx := context.Background()
	open := func(prefix, camera, class string, at time.Duration) {
		for i := range 3 {
			if _, err := s.StoreDetection(ctx, det(fmt.Sprintf("%s%d", prefix, i), camera, class, at+time.Duration(i)*time.Second, 0.6)); err != nil {
				t.Fatal(err)
			}
		}
	}
	open("a", "cam-1", "fire", 0)
	open("b", "cam-1", "fire", 10*time.Minute) // closes the first lazily, opens a second
	open("c", "cam-2", "fire", 0)
	open("d", "cam-1", "knife", 0)
	rows := map[string]int{}
	r, err := db.Query(`SELECT camera || '/' || class || '/' || channel || '/' || status, count(*) FROM notifications GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
		var k string
		var n int
		if err := r.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		rows[k] = n
	}
	r.Close()
	want := map[string]int{
		"cam-1/fire/webhook/pending": 1, "cam-1/fire/webhook/suppressed": 1,
		"cam-1/fire/x/pending": 1, "cam-1/fire/x/suppressed": 1,
		"cam-2/fire/webhook/pending": 1, "cam-2/fire/x/pending": 1,
		"cam-1/knife/webhook/pending": 1,
	}
	if fmt.Sprint(rows) != fmt.Sprint(want) {
		t.Fatalf("notifications %v\nwant %v", rows, want)
	}
}

func TestOutboxLeasesAndRetries(t *testing.T) {
	s, _, _ := newStore(t, Options{Channels: func(string) []string { return []string{"ntfy"} }})
	ctx := context.Background()
	for i := range 3 {
		if _, err := s.StoreDetection(ctx, det(fmt.Sprintf("e%d", i), "cam-1", "fire", time.Duration(i)*time.Second, 0.6)); err != nil {
			t.Fatal(err)
		}
	}
	o := s.Outbox()
	jobs, err := o.Claim(ctx, "ntfy", 10, time.Minute)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("claimed %d (%v)", len(jobs), err)
	}
	j := jobs[0]
	if j.Attempts != 1 || j.Kind != "opened" || len(j.Incident.Snapshot) == 0 || j.Incident.Hits != 3 {
		t.Fatalf("job %+v", j)
	}
	if again, _ := o.Claim(ctx, "ntfy", 10, time.Minute); len(again) != 0 {
		t.Fatal("a leased job was claimed twice")
	}
	if err := o.Retry(ctx, j.ID, time.Now().Add(-time.Second), "status 503"); err != nil {
		t.Fatal(err)
	}
	jobs, _ = o.Claim(ctx, "ntfy", 10, time.Minute)
	if len(jobs) != 1 || jobs[0].Attempts != 2 {
		t.Fatalf("retry not claimable: %+v", jobs)
	}
	if err := o.Sent(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if err := o.Retry(ctx, j.ID, time.Now().Add(-time.Second), "x"); err != nil {
		t.Fatal(err)
	}
	if jobs, _ := o.Claim(ctx, "ntfy", 10, time.Minute); len(jobs) != 0 {
		t.Fatal("a sent job came back")
	}
}

func TestIncidentChangesAreAnnounced(t *testing.T) {
	s, _, schema := newStore(t, Options{})
	l := pq.NewListener(pgtest.WithSearchPath(pgtest.BaseURL(), schema), 10*time.Millisecond, time.Second, nil)
	defer l.Close()
	if err := l.Listen("edgewatch." + schema + ".incidents"); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var id string
	for i := range 3 {
		out, err := s.StoreDetection(ctx, det(fmt.Sprintf("e%d", i), "cam-1", "fire", time.Duration(i)*time.Second, 0.6))
		if err != nil {
			t.Fatal(err)
		}
		id = out.Incident.ID
	}
	select {
	case n := <-l.Notify:
		if n == nil || n.Extra != id {
			t.Fatalf("notification %+v, want incident %s", n, id)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no notification for an opened incident")
	}
	select {
	case n := <-l.Notify:
		t.Fatalf("a candidate was announced before opening: %+v", n)
	default:
	}
}

func TestTuned(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u@h/db?sslmode=disable":        "postgres://u@h/db?binary_parameters=yes&sslmode=disable",
		"postgres://u@h/db?binary_parameters=no":   "postgres://u@h/db?binary_parameters=no",
		"host=h dbname=db":                         "host=h dbname=db binary_parameters=yes",
		"host=h dbname=db binary_parameters=no   ": "host=h dbname=db binary_parameters=no   ",
	} {
		if got := Tuned(in); got != want {
			t.Errorf("Tuned(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestCaptionOnlyForAnAnnouncedIncident(t *testing.T) {
	s, _, _ := newStore(t, Options{})
	ctx := context.Background()
	out, err := s.StoreDetection(ctx, det("c1", "cam-1", "gun", 0, 0.5))
	if err != nil || out.Incident.Status != incident.StatusCandidate {
		t.Fatalf("%+v %v", out.Incident, err)
	}
	c := incident.Caption{EventID: "cap", Source: "/cameras/cam-1", IncidentID: out.Incident.ID, Camera: "cam-1", Class: "gun",
		Caption: "early", Model: "m", CreatedAt: t0}
	if _, err := s.AttachCaption(ctx, c); !errors.Is(err, ErrCaptionRefused) || !strings.Contains(err.Error(), "candidate") {
		t.Fatalf("caption of a candidate: %v", err)
	}
	if got, _ := s.Incident(ctx, out.Incident.ID); got.Caption != "" {
		t.Fatalf("a candidate took caption %q", got.Caption)
	}
}

func TestSameIDFromAnotherSourceIsAnotherDetection(t *testing.T) {
	s, db, _ := newStore(t, Options{})
	ctx := context.Background()
	a := det("same", "cam-1", "fire", 0, 0.5)
	b := det("same", "cam-2", "fire", 0, 0.5)
	for _, d := range []incident.Detection{a, b, a} {
		if _, err := s.StoreDetection(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	if got := count(t, db, `SELECT count(*) FROM detections WHERE event_id = 'same'`); got != 2 {
		t.Fatalf("%d detections, want 2: one per source, the repeat of the first stored once", got)
	}
}

// TestLateDeliveryFoldsIntoItsIncident is the database outage of issue 17:
// the first detection is stored, the next two arrive 40 s later by alert's
// clock (PostgreSQL was down, the broker retried). Their camera times are
// 4 s apart, so they fold into the first one's candidate and open it; the
// closer, run in between, does not expire the candidate while the delivery
// horizon has not passed since it was last fed.
func TestLateDeliveryFoldsIntoItsIncident(t *testing.T) {
	p := testPolicy()
	p.Horizon = 5 * time.Minute
	s, _, _ := newStore(t, Options{Policy: p})
	ctx := context.Background()
	if _, err := s.StoreDetection(ctx, det("l1", "cam-1", "fire", 0, 0.5)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.CloseQuiet(ctx, t0.Add(35*time.Second)); err != nil {
		t.Fatal(err)
	}
	var last Outcome
	for i, at := range []time.Duration{4 * time.Second, 8 * time.Second} {
		d := det(fmt.Sprintf("l%d", i+2), "cam-1", "fire", at, 0.5)
		d.ReceivedAt = t0.Add(40 * time.Second)
		out, err := s.StoreDetection(ctx, d)
		if err != nil {
			t.Fatal(err)
		}
		last = out
	}
	if !last.Opened || last.Incident.Hits != 3 || len(last.Ended) != 0 {
		t.Fatalf("late detections: %+v, want the first candidate opened with 3 hits", last)
	}
	// Its camera falls silent: it closes once Quiet plus the horizon have
	// passed since the last receive, at the event time its quiet ran out.
	closed, _, err := s.CloseQuiet(ctx, t0.Add(40*time.Second+time.Minute+4*time.Minute))
	if err != nil || len(closed) != 0 {
		t.Fatalf("closed before the horizon: %+v %v", closed, err)
	}
	closed, _, err = s.CloseQuiet(ctx, t0.Add(40*time.Second+time.Minute+5*time.Minute+time.Second))
	if err != nil || len(closed) != 1 || !closed[0].ClosedAt.Equal(t0.Add(8*time.Second+time.Minute)) {
		t.Fatalf("after the horizon: %+v %v, want one closed at last seen + quiet", closed, err)
	}
}

func TestDeadLetterIsStoredUpToItsCap(t *testing.T) {
	s, db, _ := newStore(t, Options{})
	dl := DeadLetter{EventID: "big", Type: "other", Source: "/x", ErrorDest: "http://alert",
		Event: []byte("0123456789"), EventBytes: 1 << 20, Truncated: true}
	if _, err := s.RecordDeadLetter(context.Background(), dl); err != nil {
		t.Fatal(err)
	}
	var n, size int
	var truncated bool
	if err := db.QueryRow(`SELECT length(event), event_bytes, truncated FROM dead_letters WHERE event_id = 'big'`).Scan(&n, &size, &truncated); err != nil {
		t.Fatal(err)
	}
	if n != 10 || size != 1<<20 || !truncated {
		t.Fatalf("stored %d bytes of %d, truncated=%v", n, size, truncated)
	}
}

// TestMigrationUpgradesAVersion1Database builds a database as the first
// schema left it, with a detection, a captioned incident and a dead letter,
// migrates it, and checks that the old rows keep their identity: a
// redelivery of the stored detection is still a duplicate, the old caption
// again is a duplicate, another caption is refused.
func TestMigrationUpgradesAVersion1Database(t *testing.T) {
	dsn, _ := pgtest.Schema(t)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ms, err := Migrations()
	if err != nil || ms[0].Version != 1 {
		t.Fatal(ms, err)
	}
	ctx := context.Background()
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
		ms[0].SQL,
		`INSERT INTO schema_migrations (version, name) VALUES (1, 'incidents')`,
		`INSERT INTO incidents (id, camera, class, status, first_seen_at, last_seen_at, opened_at, max_confidence, hits, scores,
			best_detection_id, opened_by, caption, caption_model)
			VALUES ('11111111-1111-4111-8111-111111111111', 'cam-1', 'gun', 'open', '2026-11-29T10:00:00Z', '2026-11-29T10:00:02Z',
			'2026-11-29T10:00:02Z', 0.9, 3, '{0.9}', 'old-1', 'old-1', 'old caption', 'm')`,
		`INSERT INTO detections (event_id, incident_id, camera, class, label, confidence, box_x, box_y, box_w, box_h,
			frame_width, frame_height, motion_id, model, objects, image_bytes, detected_at)
			VALUES ('old-1', '11111111-1111-4111-8111-111111111111', 'cam-1', 'gun', 'gun', 0.9, 1, 2, 3, 4, 640, 480,
			'm-old-1', 'yolo', 1, 10, '2026-11-29T10:00:02Z')`,
		`INSERT INTO dead_letters (event_id, type, source, error_dest, event) VALUES ('dl', 'other', '/x', 'http://alert', '\x0102')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	applied, err := Migrate(ctx, db)
	if err != nil || len(applied) == 0 || applied[0] != 2 {
		t.Fatalf("migrate: %v %v", applied, err)
	}
	if got := count(t, db, `SELECT count(*) FROM detections WHERE source = '/cameras/cam-1' AND event_id = 'old-1'`); got != 1 {
		t.Fatal("the stored detection has no source")
	}
	if got := count(t, db, `SELECT count(*) FROM dead_letters WHERE event_bytes = 2 AND NOT truncated`); got != 1 {
		t.Fatal("the dead letter has no size")
	}
	s, err := New(db, Options{Policy: testPolicy()})
	if err != nil {
		t.Fatal(err)
	}
	d := det("old-1", "cam-1", "gun", 2*time.Second, 0.9)
	out, err := s.StoreDetection(ctx, d)
	if err != nil || !out.Duplicate {
		t.Fatalf("redelivery of a detection stored before the migration: %+v %v", out, err)
	}
	old := incident.Caption{EventID: "cap-old", Source: "/cameras/cam-1", IncidentID: "11111111-1111-4111-8111-111111111111",
		Camera: "cam-1", Class: "gun", Caption: "old caption", Model: "m", CreatedAt: t0}
	if dup, err := s.AttachCaption(ctx, old); err != nil || !dup {
		t.Fatalf("the caption attached before the migration again: duplicate=%v %v", dup, err)
	}
	old.Caption = "new"
	if _, err := s.AttachCaption(ctx, old); !errors.Is(err, ErrCaptionRefused) {
		t.Fatalf("another caption: %v", err)
	}
}
