package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/edgewatch/edgewatch/functions/alert/notify"
)

// Outbox returns the store's notification outbox, the notifications table.
// Several replicas may drain it at once.
func (s *Store) Outbox() notify.Outbox { return outbox{s} }

type outbox struct{ s *Store }

// Claim implements notify.Outbox.
func (o outbox) Claim(ctx context.Context, channel string, limit int, lease time.Duration) ([]notify.Job, error) {
	rows, err := o.s.db.QueryContext(ctx, `UPDATE notifications n SET attempts = n.attempts + 1,
		lease_until = now() + make_interval(secs => $3)
		FROM incidents i
		WHERE n.id IN (SELECT id FROM notifications WHERE status = 'pending' AND channel = $1
			AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
			ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED)
		AND i.id = n.incident_id
		RETURNING n.id, n.channel, n.kind, n.attempts, `+incidentColumns("i.")+`, i.snapshot`,
		channel, limit, lease.Seconds())
	if err != nil {
		return nil, fmt.Errorf("claim %s notifications: %w", channel, err)
	}
	defer rows.Close()
	var jobs []notify.Job
	for rows.Next() {
		var (
			j    notify.Job
			kind string
			snap []byte
		)
		inc, err := scanIncidentAfter(rows, []any{&j.ID, &j.Channel, &kind, &j.Attempts}, &snap)
		if err != nil {
			return nil, fmt.Errorf("claim %s notifications: %w", channel, err)
		}
		inc.Snapshot = snap
		j.Kind, j.Incident = notify.Kind(kind), inc
		jobs = append(jobs, j)
	}
	return jobs, rows.Err()
}

// Sent implements notify.Outbox.
func (o outbox) Sent(ctx context.Context, id int64) error {
	_, err := o.s.db.ExecContext(ctx, `UPDATE notifications SET status = 'sent', sent_at = now(), lease_until = NULL,
		last_error = NULL WHERE id = $1`, id)
	return err
}

// Retry implements notify.Outbox.
func (o outbox) Retry(ctx context.Context, id int64, at time.Time, reason string) error {
	_, err := o.s.db.ExecContext(ctx, `UPDATE notifications SET next_attempt_at = $2, lease_until = NULL,
		last_error = $3 WHERE id = $1`, id, at, clip(reason))
	return err
}

// Failed implements notify.Outbox.
func (o outbox) Failed(ctx context.Context, id int64, reason string) error {
	_, err := o.s.db.ExecContext(ctx, `UPDATE notifications SET status = 'failed', lease_until = NULL,
		last_error = $2 WHERE id = $1`, id, clip(reason))
	return err
}

func clip(s string) string {
	if len(s) > 1000 {
		s = s[:1000]
	}
	return strings.ToValidUTF8(s, "")
}
