// Package dbtest gives each dashboard test a schema of its own on the local
// PostgreSQL server, migrated by the alert function's own migration files,
// and a role that can read only the read model, as the dashboard should.
//
// The one seam between the dashboard's tests and alert's schema is
// AlertMigrations: the dashboard module cannot import alert's, so it reads
// alert's migration files from the repository (functions/alert/postgres/
// migrations) and applies them as alert does.
package dbtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq" // the "postgres" driver

	"github.com/edgewatch/edgewatch/functions/dashboard/internal/contract"
)

// AlertMigrationsDir is where alert's migrations are, from the repository
// root (the directory holding edgewatch.work).
const AlertMigrationsDir = "functions/alert/postgres/migrations"

// BaseURL is the server the tests use.
func BaseURL() string {
	if u := os.Getenv("DATABASE_URL"); u != "" {
		return u
	}
	return "postgres://postgres@127.0.0.1:5432/test?sslmode=disable"
}

// Schema creates an empty schema and its reader role (see ReaderURL), both
// dropped when tb ends, and returns a connection URL, as the server's
// administrator, whose search_path is that schema.
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
	role := readerRole(schema)
	tb.Cleanup(func() {
		db, err := sql.Open("postgres", BaseURL())
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		_, _ = db.Exec(`DROP ROLE IF EXISTS ` + role)
	})
	if _, err := admin.Exec(`CREATE ROLE ` + role + ` LOGIN`); err != nil {
		tb.Fatal(err)
	}
	if _, err := admin.Exec(`GRANT USAGE ON SCHEMA ` + schema + ` TO ` + role); err != nil {
		tb.Fatal(err)
	}
	u, _ := url.Parse(BaseURL())
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func readerRole(schema string) string { return schema + "_reader" }

// ReaderURL returns dsn (a URL from Schema) for the schema's reader role,
// which may select from the read model and nothing else: a dashboard that
// reads alert's tables fails its tests.
func ReaderURL(tb testing.TB, dsn string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	u.User = url.User(readerRole(u.Query().Get("search_path")))
	return u.String()
}

// Migration is one of alert's migration files.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// AlertMigrations reads alert's migrations, in version order, from the
// repository this test runs in.
func AlertMigrations(tb testing.TB) []Migration {
	tb.Helper()
	dir, err := repoRoot()
	if err != nil {
		tb.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join(dir, AlertMigrationsDir, "*.sql"))
	if err != nil || len(files) == 0 {
		tb.Fatalf("alert's migrations not found in %s: %v", AlertMigrationsDir, err)
	}
	var out []Migration
	for _, f := range files {
		num, name, ok := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			tb.Fatalf("%s is not named <version>_<name>.sql", f)
		}
		body, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, Migration{Version: v, Name: name, SQL: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out
}

// repoRoot finds the repository root above the working directory.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "edgewatch.work")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no edgewatch.work above the working directory")
		}
		dir = parent
	}
}

// Migrate applies alert's migrations as alert does, records them in
// schema_migrations, and lets the schema's reader role select from the read
// model, as a deployment grants the dashboard's role.
func Migrate(tb testing.TB, db *sql.DB) {
	tb.Helper()
	if _, err := db.Exec(`CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		tb.Fatal(err)
	}
	for _, m := range AlertMigrations(tb) {
		if _, err := db.Exec(m.SQL); err != nil {
			tb.Fatalf("alert migration %d (%s): %v", m.Version, m.Name, err)
		}
		if _, err := db.Exec(`INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
			tb.Fatal(err)
		}
	}
	var schema string
	if err := db.QueryRow(`SELECT current_schema()`).Scan(&schema); err != nil {
		tb.Fatal(err)
	}
	if _, err := db.Exec(`GRANT SELECT ON ` + contract.ReadModelView + ` TO ` + readerRole(schema)); err != nil {
		tb.Fatal(err)
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
