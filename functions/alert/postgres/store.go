// Package postgres stores detections, incidents, captions, dead letters and
// the notification outbox in PostgreSQL through lib/pq. It applies the
// incident package's policy inside transactions that are safe with several
// replicas of the alert function writing at once.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/lib/pq"

	"github.com/edgewatch/edgewatch/functions/alert/incident"
)

// ErrUnknownIncident is returned for a caption of an incident that does not
// exist (or belongs to another camera or class).
var ErrUnknownIncident = errors.New("unknown incident")

// ErrCaptionRefused is returned for a caption of an incident that is not
// waiting for one: not (yet) announced, or captioned by another event.
var ErrCaptionRefused = errors.New("caption refused")

// lockSpace is the first key of the per camera and class advisory locks.
const lockSpace = 0x4556

// Tuned returns dsn with binary_parameters=yes unless it says otherwise:
// lib/pq then sends each parameterised statement in one round trip instead
// of two (about 20 % faster per detection here), which also suits PgBouncer
// in transaction mode.
func Tuned(dsn string) string {
	if strings.Contains(dsn, "binary_parameters") {
		return dsn
	}
	if u, err := url.Parse(dsn); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("binary_parameters", "yes")
		u.RawQuery = q.Encode()
		return u.String()
	}
	return strings.TrimSpace(dsn) + " binary_parameters=yes"
}

// Options configure a Store.
type Options struct {
	// Policy decides how detections make incidents.
	Policy incident.Policy
	// Channels names the notification channels for an incident class; nil
	// means none.
	Channels func(class string) []string
	// Cooldown is the shortest time between two opening notifications of
	// one camera and class on one channel; those in between are recorded
	// as suppressed.
	Cooldown time.Duration
	// NotifyOnClose queues a notification when an incident closes too.
	NotifyOnClose bool
	// Events turns on the incident event outbox; nil leaves it off.
	Events *EventOptions
}

// Store is the alert function's PostgreSQL store.
type Store struct {
	db   *sql.DB
	opts Options
}

// New returns a store over db. The schema must be migrated (see Migrate).
func New(db *sql.DB, opts Options) (*Store, error) {
	if err := opts.Policy.Validate(); err != nil {
		return nil, err
	}
	if opts.Channels == nil {
		opts.Channels = func(string) []string { return nil }
	}
	return &Store{db: db, opts: opts}, nil
}

// Outcome is what storing one detection did.
type Outcome struct {
	// Incident is the incident the detection belongs to, after it.
	Incident incident.Incident
	// Duplicate is true when the detection was stored before; nothing
	// changed this time.
	Duplicate bool
	// Opened is true when this detection opened the incident, now or on an
	// earlier delivery of the same event.
	Opened bool
	// Ended lists the incidents this detection found over and ended.
	Ended []incident.Incident
	// Notify is true when notifications were queued.
	Notify bool
	// Events is true when incident events were queued.
	Events bool
}

// StoreDetection stores d and folds it into its incident, once per event id.
// A redelivered detection changes nothing; its outcome reports whether it
// was the one that opened its incident, so the caller can announce the
// opening again (with the same deterministic event id).
func (s *Store) StoreDetection(ctx context.Context, d incident.Detection) (Outcome, error) {
	for attempt := 0; ; attempt++ {
		out, err := s.storeDetection(ctx, d)
		// Two transactions with different camera/class locks can still race
		// on one event id (a forged or corrupt duplicate); the loser sees a
		// unique violation and reads the winner's result on the next pass.
		if isUniqueViolation(err) && attempt < 2 {
			continue
		}
		return out, err
	}
}

func (s *Store) storeDetection(ctx context.Context, d incident.Detection) (Outcome, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return Outcome{}, fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockSpace, d.Camera+"/"+d.Class); err != nil {
		return Outcome{}, fmt.Errorf("lock %s/%s: %w", d.Camera, d.Class, err)
	}
	// One statement, after the lock: was this event stored before, and
	// which incident of the camera and class is active (locked for update)?
	var prior sql.NullString
	active, err := scanIncidentAfter(tx.QueryRowContext(ctx, `SELECT
		(SELECT incident_id::text FROM detections WHERE source = $4 AND event_id = $1), `+incidentColumns("a.")+`
		FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT * FROM incidents
			WHERE camera = $2 AND class = $3 AND status IN ('candidate', 'open') FOR UPDATE) a ON true`,
		d.EventID, d.Camera, d.Class, d.Source), []any{&prior})
	if err != nil {
		return Outcome{}, fmt.Errorf("look up detection %s: %w", d.EventID, err)
	}
	if prior.Valid {
		inc, err := loadIncident(ctx, tx, prior.String, true)
		if err != nil {
			return Outcome{}, err
		}
		return Outcome{Incident: inc, Duplicate: true, Opened: inc.OpenedBy == d.EventID}, tx.Commit()
	}

	var out Outcome
	found := active.ID != ""
	if found {
		if status, end, over := s.opts.Policy.Ended(&active, d.DetectedAt); over {
			active.Status = status
			active.ClosedAt = &end
			if err := s.end(ctx, tx, &active); err != nil {
				return Outcome{}, err
			}
			out.Ended = append(out.Ended, active)
			found = false
		}
	}
	inc := active
	if !found {
		inc = s.opts.Policy.Start(d)
	}
	best, opened := s.opts.Policy.Fold(&inc, d)
	if found {
		err = updateIncident(ctx, tx, &inc, best, d)
	} else {
		err = insertIncident(ctx, tx, &inc, d)
	}
	if err != nil {
		return Outcome{}, err
	}
	if opened {
		err = s.markAnnounced(ctx, tx, inc, received(d))
	} else if found {
		out.Events, err = s.queueUpdated(ctx, tx, inc, received(d))
	}
	if err != nil {
		return Outcome{}, err
	}
	if len(out.Ended) > 0 {
		queued, err := s.queueClosed(ctx, tx, out.Ended[0])
		if err != nil {
			return Outcome{}, err
		}
		out.Events = out.Events || queued
	}
	if opened && inc.Snapshot == nil {
		// The best detection came earlier: the opened event still carries
		// its image.
		if err := tx.QueryRowContext(ctx, `SELECT snapshot FROM incidents WHERE id = $1`, inc.ID).Scan(&inc.Snapshot); err != nil {
			return Outcome{}, fmt.Errorf("load snapshot of %s: %w", inc.ID, err)
		}
	}
	if opened {
		n, err := s.enqueue(ctx, tx, inc, "opened")
		if err != nil {
			return Outcome{}, err
		}
		out.Notify = n > 0
	}
	if len(out.Ended) > 0 && out.Ended[0].Status == incident.StatusClosed && s.opts.NotifyOnClose {
		n, err := s.enqueue(ctx, tx, out.Ended[0], "closed")
		if err != nil {
			return Outcome{}, err
		}
		out.Notify = out.Notify || n > 0
	}
	if err := tx.Commit(); err != nil {
		return Outcome{}, fmt.Errorf("commit: %w", err)
	}
	out.Incident, out.Opened = inc, opened
	return out, nil
}

// incidentColumns are the columns scanIncident reads, for the table
// aliased as prefix ("" for none).
func incidentColumns(prefix string) string {
	cols := []string{"id", "camera", "class", "status", "first_seen_at", "last_seen_at", "last_received_at", "opened_at", "closed_at",
		"max_confidence", "hits", "scores", "lat", "lon", "best_detection_id"}
	for i, c := range cols {
		cols[i] = prefix + c
	}
	for _, c := range []string{"opened_by", "caption", "caption_model"} {
		cols = append(cols, "coalesce("+prefix+c+", '')")
	}
	return strings.Join(cols, ", ")
}

type rowScanner interface{ Scan(dest ...any) error }

func scanIncident(r rowScanner, extra ...any) (incident.Incident, error) {
	return scanIncidentAfter(r, nil, extra...)
}

// scanIncidentAfter scans the columns before, then the incident's, then extra.
func scanIncidentAfter(r rowScanner, before []any, extra ...any) (incident.Incident, error) {
	// Every column is scanned as nullable so that an outer join without an
	// incident scans too; the incident's ID is then empty.
	var (
		inc                               incident.Incident
		id, camera, class, status, best   sql.NullString
		first, last, recv, opened, closed sql.NullTime
		maxConf, lat, lon                 sql.NullFloat64
		hits                              sql.NullInt64
		scores                            pq.Float64Array
	)
	dest := []any{&id, &camera, &class, &status, &first, &last, &recv, &opened, &closed,
		&maxConf, &hits, &scores, &lat, &lon, &best, &inc.OpenedBy, &inc.Caption, &inc.CaptionModel}
	all := append(append(append([]any{}, before...), dest...), extra...)
	if err := r.Scan(all...); err != nil {
		return incident.Incident{}, err
	}
	if !id.Valid {
		return incident.Incident{}, nil
	}
	inc.ID, inc.Camera, inc.Class, inc.Status = id.String, camera.String, class.String, incident.Status(status.String)
	inc.FirstSeenAt, inc.LastSeenAt, inc.LastReceivedAt = first.Time.UTC(), last.Time.UTC(), recv.Time.UTC()
	inc.MaxConfidence, inc.Hits, inc.BestDetectionID = maxConf.Float64, int(hits.Int64), best.String
	if opened.Valid {
		t := opened.Time.UTC()
		inc.OpenedAt = &t
	}
	if closed.Valid {
		t := closed.Time.UTC()
		inc.ClosedAt = &t
	}
	inc.Scores = scores
	if lat.Valid && lon.Valid {
		inc.Location = &incident.Location{Lat: lat.Float64, Lon: lon.Float64}
	}
	return inc, nil
}

type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func loadIncident(ctx context.Context, q querier, id string, withSnapshot bool) (incident.Incident, error) {
	snap := "NULL::bytea"
	if withSnapshot {
		snap = "snapshot"
	}
	var snapshot []byte
	inc, err := scanIncident(q.QueryRowContext(ctx, `SELECT `+incidentColumns("")+`, `+snap+` FROM incidents WHERE id = $1`, id), &snapshot)
	if err != nil {
		return incident.Incident{}, fmt.Errorf("load incident %s: %w", id, err)
	}
	inc.Snapshot = snapshot
	return inc, nil
}

// Incident returns one incident with its snapshot.
func (s *Store) Incident(ctx context.Context, id string) (incident.Incident, error) {
	inc, err := loadIncident(ctx, s.db, id, true)
	if errors.Is(err, sql.ErrNoRows) {
		return incident.Incident{}, fmt.Errorf("%w %s", ErrUnknownIncident, id)
	}
	return inc, err
}

func activeIncident(ctx context.Context, tx *sql.Tx, camera, class string) (incident.Incident, bool, error) {
	inc, err := scanIncident(tx.QueryRowContext(ctx, `SELECT `+incidentColumns("")+` FROM incidents
		WHERE camera = $1 AND class = $2 AND status IN ('candidate', 'open') FOR UPDATE`, camera, class))
	if errors.Is(err, sql.ErrNoRows) {
		return incident.Incident{}, false, nil
	}
	if err != nil {
		return incident.Incident{}, false, fmt.Errorf("active incident %s/%s: %w", camera, class, err)
	}
	return inc, true, nil
}

func latLon(l *incident.Location) (lat, lon sql.NullFloat64) {
	if l == nil {
		return lat, lon
	}
	return sql.NullFloat64{Float64: l.Lat, Valid: true}, sql.NullFloat64{Float64: l.Lon, Valid: true}
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// insertDetectionFrom returns the part of a statement that inserts d with
// the incident id of the CTE "i", its parameters numbered from first on, and
// the parameters.
func insertDetectionFrom(first int, d incident.Detection) (string, []any) {
	args := []any{d.EventID, d.Camera, d.Class, d.Label, d.Confidence, d.Box.X, d.Box.Y, d.Box.W, d.Box.H,
		d.FrameWidth, d.FrameHeight, d.MotionID, d.Model, d.Objects, len(d.Image), d.DetectedAt, d.Source, received(d)}
	ph := make([]string, len(args))
	for i := range args {
		ph[i] = fmt.Sprintf("$%d", first+i)
	}
	return `INSERT INTO detections (event_id, incident_id, camera, class, label, confidence, box_x, box_y, box_w, box_h,
		frame_width, frame_height, motion_id, model, objects, image_bytes, detected_at, source, received_at)
		SELECT ` + ph[0] + `, i.id, ` + strings.Join(ph[1:], ", ") + ` FROM i`, args
}

// received returns when d was received, now if the caller did not say.
func received(d incident.Detection) time.Time {
	if d.ReceivedAt.IsZero() {
		return time.Now().UTC()
	}
	return d.ReceivedAt
}

// insertIncident inserts a new incident and its first detection in one
// statement, and sets inc.ID.
func insertIncident(ctx context.Context, tx *sql.Tx, inc *incident.Incident, d incident.Detection) error {
	lat, lon := latLon(inc.Location)
	det, dargs := insertDetectionFrom(16, d)
	args := append([]any{inc.Camera, inc.Class, string(inc.Status), inc.FirstSeenAt, inc.LastSeenAt, inc.OpenedAt,
		inc.MaxConfidence, inc.Hits, pq.Float64Array(inc.Scores), lat, lon, inc.Snapshot,
		inc.BestDetectionID, nullString(inc.OpenedBy), received(d)}, dargs...)
	err := tx.QueryRowContext(ctx, `WITH i AS (INSERT INTO incidents (camera, class, status, first_seen_at, last_seen_at,
		opened_at, max_confidence, hits, scores, lat, lon, snapshot, best_detection_id, opened_by, last_received_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING id)
		`+det+` RETURNING incident_id`, args...).Scan(&inc.ID)
	if err != nil {
		return fmt.Errorf("insert incident %s/%s with detection %s: %w", inc.Camera, inc.Class, d.EventID, err)
	}
	return nil
}

// updateIncident writes the folded incident and inserts the detection in
// one statement.
func updateIncident(ctx context.Context, tx *sql.Tx, inc *incident.Incident, best bool, d incident.Detection) error {
	lat, lon := latLon(inc.Location)
	det, dargs := insertDetectionFrom(16, d)
	args := append([]any{inc.ID, string(inc.Status), inc.FirstSeenAt, inc.LastSeenAt, inc.OpenedAt, inc.MaxConfidence,
		inc.Hits, pq.Float64Array(inc.Scores), lat, lon, best, inc.Snapshot, inc.BestDetectionID,
		nullString(inc.OpenedBy), inc.LastReceivedAt}, dargs...)
	// The snapshot is written only when it changed, so the TOASTed image is
	// not rewritten on every detection.
	_, err := tx.ExecContext(ctx, `WITH i AS (UPDATE incidents SET status = $2, first_seen_at = $3, last_seen_at = $4,
		opened_at = $5, max_confidence = $6, hits = $7, scores = $8, lat = $9, lon = $10,
		snapshot = CASE WHEN $11 THEN $12 ELSE snapshot END, best_detection_id = $13, opened_by = $14,
		last_received_at = greatest(last_received_at, $15), updated_at = now() WHERE id = $1 RETURNING id)
		`+det, args...)
	if err != nil {
		return fmt.Errorf("update incident %s with detection %s: %w", inc.ID, d.EventID, err)
	}
	return nil
}

func (s *Store) end(ctx context.Context, tx *sql.Tx, inc *incident.Incident) error {
	_, err := tx.ExecContext(ctx, `UPDATE incidents SET status = $2, closed_at = $3, updated_at = now() WHERE id = $1`,
		inc.ID, string(inc.Status), inc.ClosedAt)
	if err != nil {
		return fmt.Errorf("end incident %s: %w", inc.ID, err)
	}
	return nil
}

// enqueue writes the outbox rows of one incident event, one per channel of
// its class. An opening inside the cooldown of the previous one (same camera,
// class and channel) is recorded as suppressed. It returns how many rows are
// pending.
func (s *Store) enqueue(ctx context.Context, tx *sql.Tx, inc incident.Incident, kind string) (int, error) {
	pending := 0
	for _, ch := range s.opts.Channels(inc.Class) {
		var status string
		err := tx.QueryRowContext(ctx, `INSERT INTO notifications (incident_id, kind, channel, camera, class, status)
			SELECT $1, $2, $3, $4, $5, CASE WHEN $2 = 'opened' AND EXISTS (
				SELECT 1 FROM notifications WHERE camera = $4 AND class = $5 AND channel = $3 AND kind = 'opened'
				AND status <> 'suppressed' AND created_at > now() - make_interval(secs => $6)) THEN 'suppressed' ELSE 'pending' END
			ON CONFLICT (incident_id, kind, channel) DO NOTHING RETURNING status`,
			inc.ID, kind, ch, inc.Camera, inc.Class, s.opts.Cooldown.Seconds()).Scan(&status)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return 0, fmt.Errorf("queue %s notification of incident %s on %s: %w", kind, inc.ID, ch, err)
		}
		if status == "pending" {
			pending++
		}
	}
	return pending, nil
}

// CloseQuiet ends every active incident that its camera has abandoned as of
// now, alert's clock: one whose newest detection was received more than its
// policy's Quiet (open) or Gap (candidate) plus the delivery Horizon ago.
// Open ones close, candidates expire, each at the event time its silence ran
// out. An incident whose camera goes on sending ends earlier, by the
// camera's own clock, when a later detection arrives (see StoreDetection).
// Each is ended under its camera/class lock, like a detection, and
// re-checked there. It returns the incidents it closed (not the expired
// candidates) and whether notifications were queued.
func (s *Store) CloseQuiet(ctx context.Context, now time.Time) ([]incident.Incident, bool, error) {
	p := s.opts.Policy
	rows, err := s.db.QueryContext(ctx, `SELECT camera, class FROM incidents
		WHERE (status = 'open' AND last_received_at < $1) OR (status = 'candidate' AND last_received_at < $2)`,
		now.Add(-p.Quiet-p.Horizon), now.Add(-p.Gap-p.Horizon))
	if err != nil {
		return nil, false, fmt.Errorf("find quiet incidents: %w", err)
	}
	type key struct{ camera, class string }
	var keys []key
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.camera, &k.class); err != nil {
			rows.Close()
			return nil, false, err
		}
		keys = append(keys, k)
	}
	if err := rows.Close(); err != nil {
		return nil, false, err
	}
	var closed []incident.Incident
	queued := false
	for _, k := range keys {
		inc, n, ok, err := s.closeOne(ctx, k.camera, k.class, now)
		if err != nil {
			return closed, queued, err
		}
		if ok && inc.Status == incident.StatusClosed {
			closed = append(closed, inc)
		}
		queued = queued || n > 0
	}
	return closed, queued, nil
}

func (s *Store) closeOne(ctx context.Context, camera, class string, now time.Time) (incident.Incident, int, bool, error) {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return incident.Incident{}, 0, false, err
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1, hashtext($2))`, lockSpace, camera+"/"+class); err != nil {
		return incident.Incident{}, 0, false, err
	}
	inc, found, err := activeIncident(ctx, tx, camera, class)
	if err != nil || !found {
		return incident.Incident{}, 0, false, err
	}
	status, end, over := s.opts.Policy.Abandoned(&inc, now)
	if !over {
		return incident.Incident{}, 0, false, nil
	}
	inc.Status, inc.ClosedAt = status, &end
	if err := s.end(ctx, tx, &inc); err != nil {
		return incident.Incident{}, 0, false, err
	}
	if _, err := s.queueClosed(ctx, tx, inc); err != nil {
		return incident.Incident{}, 0, false, err
	}
	n := 0
	if status == incident.StatusClosed && s.opts.NotifyOnClose {
		if n, err = s.enqueue(ctx, tx, inc, "closed"); err != nil {
			return incident.Incident{}, 0, false, err
		}
	}
	if err := tx.Commit(); err != nil {
		return incident.Incident{}, 0, false, err
	}
	return inc, n, true, nil
}

// AttachCaption sets the caption of its incident, once: only an announced
// (open or closed) incident without a caption takes one. The same caption
// event again (same source and id, or, for a caption attached before events
// were keyed so, the same text and model) changes nothing and reports
// duplicate; any other caption is refused with ErrCaptionRefused.
func (s *Store) AttachCaption(ctx context.Context, c incident.Caption) (duplicate bool, err error) {
	res, err := s.db.ExecContext(ctx, `UPDATE incidents SET caption = $4, caption_model = $5, captioned_at = $6,
		caption_source = $7, caption_event_id = $8, updated_at = now()
		WHERE id::text = $1 AND camera = $2 AND class = $3 AND status IN ('open', 'closed') AND caption IS NULL`,
		c.IncidentID, c.Camera, c.Class, c.Caption, c.Model, c.CreatedAt, c.Source, c.EventID)
	if err != nil {
		return false, fmt.Errorf("attach caption to %s: %w", c.IncidentID, err)
	}
	if n, err := res.RowsAffected(); err != nil || n > 0 {
		return false, err
	}
	var status string
	var caption, model, source, eventID sql.NullString
	err = s.db.QueryRowContext(ctx, `SELECT status, caption, caption_model, caption_source, caption_event_id
		FROM incidents WHERE id::text = $1 AND camera = $2 AND class = $3`,
		c.IncidentID, c.Camera, c.Class).Scan(&status, &caption, &model, &source, &eventID)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return false, fmt.Errorf("%w %s of %s/%s", ErrUnknownIncident, c.IncidentID, c.Camera, c.Class)
	case err != nil:
		return false, fmt.Errorf("attach caption to %s: %w", c.IncidentID, err)
	case eventID.Valid && eventID.String == c.EventID && source.String == c.Source:
		return true, nil
	case !eventID.Valid && caption.Valid && caption.String == c.Caption && model.String == c.Model:
		return true, nil
	case caption.Valid:
		return false, fmt.Errorf("%w: incident %s already has a caption from another event; one caption per incident",
			ErrCaptionRefused, c.IncidentID)
	}
	return false, fmt.Errorf("%w: incident %s is %s, not waiting for a caption (only open or closed incidents take one)",
		ErrCaptionRefused, c.IncidentID, status)
}

// DeadLetter is an event the broker could not deliver.
type DeadLetter struct {
	EventID   string
	Type      string
	Source    string
	ErrorDest string
	ErrorCode *int
	ErrorData string
	// Event is the whole event in CloudEvents' JSON format, so it can be
	// replayed, or its first bytes when Truncated.
	Event []byte
	// EventBytes is the size of the whole event.
	EventBytes int
	// Truncated is true when Event holds only the first bytes of it.
	Truncated bool
}

// RecordDeadLetter stores a dead letter once per event id, source and failed
// subscriber. It reports whether the dead letter was new.
func (s *Store) RecordDeadLetter(ctx context.Context, dl DeadLetter) (bool, error) {
	if dl.EventBytes < len(dl.Event) {
		dl.EventBytes = len(dl.Event)
	}
	res, err := s.db.ExecContext(ctx, `INSERT INTO dead_letters (event_id, type, source, error_dest, error_code, error_data,
		event, event_bytes, truncated)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (event_id, source, error_dest) DO NOTHING`,
		dl.EventID, dl.Type, dl.Source, dl.ErrorDest, dl.ErrorCode, nullString(dl.ErrorData), dl.Event, dl.EventBytes, dl.Truncated)
	if err != nil {
		return false, fmt.Errorf("record dead letter %s: %w", dl.EventID, err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

func isUniqueViolation(err error) bool {
	var pqErr *pq.Error
	return errors.As(err, &pqErr) && pqErr.Code == "23505"
}
