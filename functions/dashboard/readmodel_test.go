package function

import (
	"database/sql"
	"errors"
	"testing"

	"github.com/lib/pq"

	"github.com/edgewatch/edgewatch/functions/dashboard/internal/contract"
	"github.com/edgewatch/edgewatch/functions/dashboard/internal/dbtest"
)

// The role every dashboard test connects as reads the read model and
// nothing else, so any query of the dashboard's that reaches past the view
// into alert's tables fails the tests.
func TestDashboardRoleSeesOnlyTheReadModel(t *testing.T) {
	dsn := dbtest.Schema(t)
	admin, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	dbtest.Migrate(t, admin)
	reader, err := sql.Open("postgres", dbtest.ReaderURL(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	var n int
	if err := reader.QueryRow(`SELECT count(*) FROM ` + contract.ReadModelView).Scan(&n); err != nil {
		t.Fatalf("the reader role cannot read the read model: %v", err)
	}
	for _, table := range []string{"incidents", "detections", "notifications", "dead_letters", "incident_events", "schema_migrations"} {
		err := reader.QueryRow(`SELECT count(*) FROM ` + table).Scan(&n)
		var pqErr *pq.Error
		if !errors.As(err, &pqErr) || pqErr.Code != "42501" { // insufficient_privilege
			t.Errorf("the reader role reading %s: %v, want permission denied", table, err)
		}
	}
}

// The read model has exactly the columns the dashboard reads: a column
// alert adds behind it does not leak into the contract.
func TestReadModelColumns(t *testing.T) {
	dsn := dbtest.Schema(t)
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	dbtest.Migrate(t, db)
	rows, err := db.Query(`SELECT column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position`, contract.ReadModelView)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			t.Fatal(err)
		}
		got = append(got, c)
	}
	want := []string{"id", "camera", "class", "status", "opened_at", "last_seen_at", "closed_at", "confidence", "hits",
		"lat", "lon", "caption", "caption_model", "snapshot", "version"}
	if len(got) != len(want) {
		t.Fatalf("read model columns %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("read model columns %v, want %v", got, want)
		}
	}
}
