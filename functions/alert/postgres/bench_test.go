package postgres

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/edgewatch/edgewatch/functions/alert/incident"
	"github.com/edgewatch/edgewatch/functions/alert/internal/pgtest"
)

// BenchmarkStore compares a bare single-row INSERT of a detection through
// lib/pq with its default settings (baseline) with the full store as the
// function runs it (edgewatch: Tuned DSN, transaction, per camera/class
// lock, idempotency check, incident fold, snapshot, NOTIFY and outbox). Both
// run on the same server in the same run and report detections/s and the
// p99 latency.
func BenchmarkStore(b *testing.B) {
	img := make([]byte, 30<<10)
	img[0], img[1], img[2] = 0xFF, 0xD8, 0xFF
	run := func(b *testing.B, store func(ctx context.Context, i int) error) {
		ctx := context.Background()
		lat := make([]time.Duration, 0, b.N)
		b.ResetTimer()
		start := time.Now()
		for i := range b.N {
			t := time.Now()
			if err := store(ctx, i); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t))
		}
		elapsed := time.Since(start)
		b.StopTimer()
		slices.Sort(lat)
		b.ReportMetric(float64(b.N)/elapsed.Seconds(), "detections/s")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
	base := time.Now().UTC()
	detection := func(i int) incident.Detection {
		return incident.Detection{
			EventID: fmt.Sprintf("m-%d.fire", i), Camera: fmt.Sprintf("cam-%d", i%8), Class: "fire", Label: "fire",
			Confidence: 0.4 + 0.5*rand.Float64(), Box: incident.Box{X: 10, Y: 20, W: 200, H: 150},
			FrameWidth: 1920, FrameHeight: 1080, Image: img, MotionID: fmt.Sprintf("m-%d", i),
			Location: &incident.Location{Lat: 48.85, Lon: 2.35}, DetectedAt: base.Add(time.Duration(i) * 50 * time.Millisecond),
		}
	}
	b.Run("baseline", func(b *testing.B) {
		_, db, _ := newStoreTB(b, func(dsn string) string { return dsn })
		if _, err := db.Exec(`CREATE TABLE bench_detections (LIKE detections INCLUDING DEFAULTS)`); err != nil {
			b.Fatal(err)
		}
		run(b, func(ctx context.Context, i int) error {
			d := detection(i)
			_, err := db.ExecContext(ctx, `INSERT INTO bench_detections (event_id, incident_id, camera, class, label, confidence,
				box_x, box_y, box_w, box_h, frame_width, frame_height, motion_id, model, objects, image_bytes, detected_at)
				VALUES ($1, gen_random_uuid(), $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
				d.EventID, d.Camera, d.Class, d.Label, d.Confidence, d.Box.X, d.Box.Y, d.Box.W, d.Box.H,
				d.FrameWidth, d.FrameHeight, d.MotionID, d.Model, d.Objects, len(d.Image), d.DetectedAt)
			return err
		})
	})
	b.Run("edgewatch", func(b *testing.B) {
		s, _, _ := newStoreTB(b, Tuned)
		run(b, func(ctx context.Context, i int) error {
			_, err := s.StoreDetection(ctx, detection(i))
			return err
		})
	})
}

// newStoreTB opens a store on a fresh schema through the DSN that tune
// makes of the test server's.
func newStoreTB(tb testing.TB, tune func(string) string) (*Store, *sql.DB, string) {
	tb.Helper()
	dsn, schema := pgtest.Schema(tb)
	db, err := sql.Open("postgres", tune(dsn))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if _, err := Migrate(context.Background(), db); err != nil {
		tb.Fatal(err)
	}
	s, err := New(db, Options{Policy: incident.DefaultPolicy(), Channels: func(string) []string { return []string{"webhook"} }, Cooldown: time.Minute})
	if err != nil {
		tb.Fatal(err)
	}
	return s, db, schema
}
