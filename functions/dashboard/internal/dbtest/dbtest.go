// Package dbtest gives each dashboard test a schema of its own on the local
// PostgreSQL server and writes incidents into it the way the alert function
// does, through alert's own migration files.
package dbtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	_ "github.com/lib/pq" // the "postgres" driver
)

// BaseURL is the server the tests use.
func BaseURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Schema creates an empty schema, dropped when tb ends, and returns a
// connection URL whose search_path is that schema.
func Schema(tb testing.TB) string {
	tb.Helper()
	admin, err := sql.Open("postgres", BaseURL())
	if err != nil {
		tb.Fatal(err)
	}
	defer admin.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "ewd_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		tb.Fatalf("PostgreSQL at the test server is not usable (run hack/services.sh start): %v", err)
	}
	tb.Cleanup(func() {
		db, err := sql.Open("postgres", BaseURL())
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
	})
	u, _ := url.Parse(BaseURL())
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Migrate applies the alert function's migrations as alert does (the files
// are read from the alert module in this repository) and records them in
// schema_migrations.
func Migrate(tb testing.TB, db *sql.DB) {
	tb.Helper()
	files, err := filepath.Glob("../../alert/postgres/migrations/*.sql")
	if err == nil && len(files) == 0 {
		files, err = filepath.Glob("../alert/postgres/migrations/*.sql")
	}
	if err != nil || len(files) == 0 {
		tb.Fatalf("alert's migrations not found: %v", err)
	}
	sort.Strings(files)
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		tb.Fatal(err)
	}
	for i, f := range files {
		body, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := db.Exec(string(body)); err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, i+1, filepath.Base(f)); err != nil {
			tb.Fatal(err)
		}
	}
}

// Incident is a row to write.
type Incident struct {
	Camera, Class, Status string
	Lat, Lon              float64
	Confidence            float64
	Hits                  int
	OpenedAt              time.Time
	Snapshot              []byte
	Caption               string
}

// Insert writes an incident and returns its id.
func Insert(tb testing.TB, db *sql.DB, inc Incident) string {
	tb.Helper()
	if inc.Hits == 0 {
		inc.Hits = 3
	}
	var closed any
	if inc.Status == "closed" {
		closed = inc.OpenedAt.Add(time.Minute)
	}
	var snapshot any
	if len(inc.Snapshot) > 0 {
		snapshot = inc.Snapshot
	}
	var id string
	err := db.QueryRow(`INSERT INTO incidents (camera, class, status, first_seen_at, last_seen_at, opened_at, closed_at,
		max_confidence, hits, scores, lat, lon, snapshot, best_detection_id, opened_by, caption, caption_model)
		VALUES ($1, $2, $3, $4, $4, $4, $5, $6, $7, '{}', $8, $9, $10, 'd-1', 'd-1', NULLIF($11, ''), 'test-vlm') RETURNING id`,
		inc.Camera, inc.Class, inc.Status, inc.OpenedAt, closed, inc.Confidence, inc.Hits, inc.Lat, inc.Lon,
		snapshot, inc.Caption).Scan(&id)
	if err != nil {
		tb.Fatal(err)
	}
	return id
}
