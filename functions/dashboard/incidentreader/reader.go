// Package incidentreader reads incidents from the read model that the alert
// function's migrations keep for the dashboard, the dashboard_incidents view,
// read-only and nothing else (docs/alert.md, "Read model"). The dashboard
// never migrates: it waits until alert has created the view.
package incidentreader

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/functions/dashboard/internal/contract"
	"github.com/lib/pq"
)

// ErrNotFound is returned for an incident (or snapshot) that does not exist
// or is not shown.
var ErrNotFound = errors.New("not found")

// ReadOnly returns dsn with default_transaction_read_only turned on, so the
// session cannot write even if a query tried to.
func ReadOnly(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("default_transaction_read_only", "on")
		u.RawQuery = q.Encode()
		return u.String()
	}
	return strings.TrimSpace(dsn) + " default_transaction_read_only=on"
}

// Location is a WGS84 position.
type Location struct {
	Lat float64 `json:"lat"`
	Lon float64 `json:"lon"`
}

// Incident is an incident as the map and the API show it.
type Incident struct {
	ID           string     `json:"id"`
	Camera       string     `json:"camera"`
	Class        string     `json:"class"`
	Status       string     `json:"status"`
	OpenedAt     time.Time  `json:"opened_at"`
	LastSeenAt   time.Time  `json:"last_seen_at"`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
	Confidence   float64    `json:"confidence"`
	Hits         int        `json:"hits"`
	Location     *Location  `json:"location,omitempty"`
	Caption      string     `json:"caption,omitempty"`
	CaptionModel string     `json:"caption_model,omitempty"`
	HasSnapshot  bool       `json:"has_snapshot"`
	// Version changes whenever the incident does (for cache busting).
	Version int64 `json:"version"`
}

// Filter selects incidents. Zero fields select everything.
type Filter struct {
	Classes []string
	Camera  string
	// Since and Until bound the time the incident was active: it was last
	// seen at or after Since and opened at or before Until.
	Since, Until time.Time
	// Status is "open", "closed" or empty for both.
	Status string
	// Limit caps the number of incidents, newest first.
	Limit int
}

// Reader reads incidents.
type Reader struct {
	db *sql.DB
}

// NewReader returns a reader over db.
func NewReader(db *sql.DB) *Reader { return &Reader{db: db} }

// SchemaReady reports whether alert has created the read model with every
// column the dashboard reads.
func (r *Reader) SchemaReady(ctx context.Context) (bool, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT `+columns+` FROM `+contract.ReadModelView+` LIMIT 0`)
	var pqErr *pq.Error
	if errors.As(err, &pqErr) && pqErr.Code == "42P01" { // undefined_table
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, rows.Close()
}

// Channel returns the LISTEN channel on which alert's schema announces
// changes to the read model.
func (r *Reader) Channel(ctx context.Context) (string, error) {
	var schema string
	if err := r.db.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return "", err
	}
	return contract.IncidentChannel(schema), nil
}

const columns = `id, camera, class, status, opened_at, last_seen_at, closed_at, confidence, hits, lat, lon,
	caption, caption_model, snapshot IS NOT NULL, version`

func scan(row interface{ Scan(...any) error }) (Incident, error) {
	var (
		inc      Incident
		closed   sql.NullTime
		lat, lon sql.NullFloat64
	)
	err := row.Scan(&inc.ID, &inc.Camera, &inc.Class, &inc.Status, &inc.OpenedAt, &inc.LastSeenAt, &closed,
		&inc.Confidence, &inc.Hits, &lat, &lon, &inc.Caption, &inc.CaptionModel, &inc.HasSnapshot, &inc.Version)
	if err != nil {
		return Incident{}, err
	}
	inc.OpenedAt, inc.LastSeenAt = inc.OpenedAt.UTC(), inc.LastSeenAt.UTC()
	if closed.Valid {
		t := closed.Time.UTC()
		inc.ClosedAt = &t
	}
	if lat.Valid && lon.Valid {
		inc.Location = &Location{Lat: lat.Float64, Lon: lon.Float64}
	}
	return inc, nil
}

// List returns the incidents that match f, newest opening first.
func (r *Reader) List(ctx context.Context, f Filter) ([]Incident, error) {
	var where []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	if len(f.Classes) > 0 {
		where = append(where, "class = ANY("+arg(pq.Array(f.Classes))+")")
	}
	if f.Camera != "" {
		where = append(where, "camera = "+arg(f.Camera))
	}
	if !f.Since.IsZero() {
		where = append(where, "last_seen_at >= "+arg(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "opened_at <= "+arg(f.Until))
	}
	if f.Status != "" {
		where = append(where, "status = "+arg(f.Status))
	}
	q := `SELECT ` + columns + ` FROM ` + contract.ReadModelView
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, " AND ")
	}
	q += ` ORDER BY opened_at DESC, id LIMIT ` + arg(f.Limit)
	rows, err := r.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	defer rows.Close()
	out := []Incident{}
	for rows.Next() {
		inc, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("list incidents: %w", err)
		}
		out = append(out, inc)
	}
	return out, rows.Err()
}

// Get returns one shown incident.
func (r *Reader) Get(ctx context.Context, id string) (Incident, error) {
	inc, err := scan(r.db.QueryRowContext(ctx, `SELECT `+columns+` FROM `+contract.ReadModelView+`
		WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Incident{}, ErrNotFound
	}
	return inc, err
}

// Snapshot returns the JPEG snapshot of a shown incident.
func (r *Reader) Snapshot(ctx context.Context, id string) ([]byte, error) {
	var img []byte
	err := r.db.QueryRowContext(ctx, `SELECT snapshot FROM `+contract.ReadModelView+`
		WHERE id = $1 AND snapshot IS NOT NULL`, id).Scan(&img)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	return img, err
}
