-- The incident event outbox: dev.edgewatch.incident.updated and
-- dev.edgewatch.incident.closed events, written in the same transaction as
-- the incident change they announce and sent to K_SINK after commit, with
-- retries, so none is lost across restarts. id is the CloudEvents id, stable
-- across retries: incident-<uuid>.updated.<seq> or incident-<uuid>.closed.
CREATE TABLE incident_events (
    seq             bigserial PRIMARY KEY,
    id              text NOT NULL UNIQUE,
    incident_id     uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    type            text NOT NULL CHECK (type IN ('updated', 'closed')),
    camera          text NOT NULL,
    class           text NOT NULL,
    event_time      timestamptz NOT NULL,
    data            jsonb NOT NULL,
    status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz
);
CREATE INDEX incident_events_due ON incident_events (next_attempt_at) WHERE status = 'pending';
CREATE INDEX incident_events_incident ON incident_events (incident_id, seq);

-- When (by alert's receive clock) the incident's last lifecycle event was
-- due, opened included, for the rate limit of updated events; how many
-- updated events it has had; and its best detection then, so an updated
-- event carries the snapshot only when it changed.
ALTER TABLE incidents ADD COLUMN announced_at timestamptz;
ALTER TABLE incidents ADD COLUMN updates integer NOT NULL DEFAULT 0;
ALTER TABLE incidents ADD COLUMN announced_detection_id text;
UPDATE incidents SET announced_at = last_received_at, announced_detection_id = best_detection_id
    WHERE status IN ('open', 'closed');
