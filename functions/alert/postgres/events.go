package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/edgewatch/edgewatch/functions/alert/incident"
	"github.com/edgewatch/edgewatch/functions/alert/lifecycle"
)

// EventOptions turn on the incident event outbox (incident_events): an
// updated event when a detection changes an open incident, at most one per
// UpdateInterval of alert's receive clock, and a closed event when it
// closes, each written in the transaction that made the change.
type EventOptions struct {
	// UpdateInterval is the shortest time between two lifecycle events of
	// one incident (the opening counts), by the detections' receive times.
	UpdateInterval time.Duration
	// Data returns an event's JSON payload for the incident; withImage
	// asks for its snapshot, which inc then holds.
	Data func(inc incident.Incident, withImage bool) ([]byte, error)
}

// UpdatedID returns the CloudEvents id of the n-th updated event of an
// incident; ClosedID that of its closed event. Both are stable, so a
// consumer recognises a redelivered event.
func UpdatedID(incidentID string, n int) string {
	return fmt.Sprintf("incident-%s.updated.%d", incidentID, n)
}

// ClosedID returns the CloudEvents id of an incident's closed event.
func ClosedID(incidentID string) string { return "incident-" + incidentID + ".closed" }

// markAnnounced records that inc's opened event is due as of at.
func (s *Store) markAnnounced(ctx context.Context, tx *sql.Tx, inc incident.Incident, at time.Time) error {
	if s.opts.Events == nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE incidents SET announced_at = $2, announced_detection_id = best_detection_id
		WHERE id = $1`, inc.ID, at)
	if err != nil {
		return fmt.Errorf("mark incident %s announced: %w", inc.ID, err)
	}
	return nil
}

// queueUpdated writes an updated event of the open incident inc when the
// last lifecycle event is at least UpdateInterval older than at. It reports
// whether it wrote one.
func (s *Store) queueUpdated(ctx context.Context, tx *sql.Tx, inc incident.Incident, at time.Time) (bool, error) {
	ev := s.opts.Events
	if ev == nil || inc.Status != incident.StatusOpen {
		return false, nil
	}
	var (
		n       int
		changed bool
	)
	err := tx.QueryRowContext(ctx, `WITH old AS (SELECT announced_detection_id FROM incidents WHERE id = $1)
		UPDATE incidents SET announced_at = $2, updates = updates + 1, announced_detection_id = best_detection_id
		WHERE id = $1 AND (announced_at IS NULL OR announced_at <= $2::timestamptz - make_interval(secs => $3))
		RETURNING updates, best_detection_id IS DISTINCT FROM (SELECT announced_detection_id FROM old)`,
		inc.ID, at, ev.UpdateInterval.Seconds()).Scan(&n, &changed)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("rate-limit updated event of %s: %w", inc.ID, err)
	}
	if changed && inc.Snapshot == nil {
		if err := tx.QueryRowContext(ctx, `SELECT snapshot FROM incidents WHERE id = $1`, inc.ID).Scan(&inc.Snapshot); err != nil {
			return false, fmt.Errorf("load snapshot of %s: %w", inc.ID, err)
		}
	}
	return true, s.insertEvent(ctx, tx, inc, UpdatedID(inc.ID, n), lifecycle.KindUpdated, inc.LastSeenAt, changed)
}

// queueClosed writes the closed event of inc, once.
func (s *Store) queueClosed(ctx context.Context, tx *sql.Tx, inc incident.Incident) (bool, error) {
	if s.opts.Events == nil || inc.Status != incident.StatusClosed || inc.ClosedAt == nil {
		return false, nil
	}
	return true, s.insertEvent(ctx, tx, inc, ClosedID(inc.ID), lifecycle.KindClosed, *inc.ClosedAt, false)
}

func (s *Store) insertEvent(ctx context.Context, tx *sql.Tx, inc incident.Incident, id, kind string, at time.Time, withImage bool) error {
	if !withImage {
		inc.Snapshot = nil
	}
	data, err := s.opts.Events.Data(inc, withImage)
	if err != nil {
		return fmt.Errorf("%s event of %s: %w", kind, inc.ID, err)
	}
	// The payload goes as text: lib/pq would send []byte in binary
	// format (binary_parameters), which jsonb does not take.
	_, err = tx.ExecContext(ctx, `INSERT INTO incident_events (id, incident_id, type, camera, class, event_time, data)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
		id, inc.ID, kind, inc.Camera, inc.Class, at, string(data))
	if err != nil {
		return fmt.Errorf("queue %s event of %s: %w", kind, inc.ID, err)
	}
	return nil
}

// Events returns the store's incident event outbox. Several replicas may
// drain it at once; each incident's events are claimed one at a time, in
// order.
func (s *Store) Events() lifecycle.Outbox { return eventOutbox{s} }

type eventOutbox struct{ s *Store }

// Claim implements lifecycle.Outbox.
func (o eventOutbox) Claim(ctx context.Context, limit int, lease time.Duration) ([]lifecycle.Job, error) {
	rows, err := o.s.db.QueryContext(ctx, `UPDATE incident_events e SET attempts = e.attempts + 1,
		lease_until = now() + make_interval(secs => $2)
		WHERE e.seq IN (SELECT p.seq FROM incident_events p WHERE p.status = 'pending' AND p.next_attempt_at <= now()
			AND (p.lease_until IS NULL OR p.lease_until < now())
			AND NOT EXISTS (SELECT 1 FROM incident_events q WHERE q.incident_id = p.incident_id
				AND q.status = 'pending' AND q.seq < p.seq)
			ORDER BY p.seq LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING e.seq, e.id, e.incident_id::text, e.type, e.camera, e.class, e.event_time, e.data, e.attempts`,
		limit, lease.Seconds())
	if err != nil {
		return nil, fmt.Errorf("claim incident events: %w", err)
	}
	defer rows.Close()
	var jobs []lifecycle.Job
	for rows.Next() {
		var j lifecycle.Job
		if err := rows.Scan(&j.Seq, &j.ID, &j.IncidentID, &j.Kind, &j.Camera, &j.Class, &j.Time, &j.Data, &j.Attempts); err != nil {
			return nil, fmt.Errorf("claim incident events: %w", err)
		}
		j.Time = j.Time.UTC()
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// Sent implements lifecycle.Outbox.
func (o eventOutbox) Sent(ctx context.Context, seq int64) error {
	_, err := o.s.db.ExecContext(ctx, `UPDATE incident_events SET status = 'sent', sent_at = now(), lease_until = NULL,
		last_error = NULL WHERE seq = $1`, seq)
	return err
}

// Retry implements lifecycle.Outbox.
func (o eventOutbox) Retry(ctx context.Context, seq int64, at time.Time, reason string) error {
	_, err := o.s.db.ExecContext(ctx, `UPDATE incident_events SET next_attempt_at = $2, lease_until = NULL,
		last_error = $3 WHERE seq = $1`, seq, at, clip(reason))
	return err
}

// Failed implements lifecycle.Outbox.
func (o eventOutbox) Failed(ctx context.Context, seq int64, reason string) error {
	_, err := o.s.db.ExecContext(ctx, `UPDATE incident_events SET status = 'failed', lease_until = NULL,
		last_error = $2 WHERE seq = $1`, seq, clip(reason))
	return err
}
