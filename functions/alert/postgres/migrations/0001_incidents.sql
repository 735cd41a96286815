-- Incidents, the detections that make them, dead letters and the notification outbox.

CREATE TABLE incidents (
    id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    camera            text NOT NULL,
    class             text NOT NULL CHECK (class IN ('accident', 'fire', 'gun', 'knife')),
    status            text NOT NULL CHECK (status IN ('candidate', 'open', 'closed', 'expired')),
    first_seen_at     timestamptz NOT NULL,
    last_seen_at      timestamptz NOT NULL,
    opened_at         timestamptz,
    closed_at         timestamptz,
    max_confidence    double precision NOT NULL,
    hits              integer NOT NULL CHECK (hits >= 1),
    scores            double precision[] NOT NULL,
    lat               double precision,
    lon               double precision,
    snapshot          bytea,
    best_detection_id text NOT NULL,
    opened_by         text,
    caption           text,
    caption_model     text,
    captioned_at      timestamptz,
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- At most one candidate or open incident per camera and class.
CREATE UNIQUE INDEX incidents_one_active ON incidents (camera, class) WHERE status IN ('candidate', 'open');
CREATE INDEX incidents_active_last_seen ON incidents (last_seen_at) WHERE status IN ('candidate', 'open');
CREATE INDEX incidents_shown_opened ON incidents (opened_at DESC) WHERE status IN ('open', 'closed');

CREATE TABLE detections (
    id           bigserial PRIMARY KEY,
    event_id     text NOT NULL UNIQUE,
    incident_id  uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    camera       text NOT NULL,
    class        text NOT NULL,
    label        text NOT NULL,
    confidence   double precision NOT NULL,
    box_x        integer NOT NULL,
    box_y        integer NOT NULL,
    box_w        integer NOT NULL,
    box_h        integer NOT NULL,
    frame_width  integer NOT NULL,
    frame_height integer NOT NULL,
    motion_id    text NOT NULL,
    model        text NOT NULL,
    objects      integer NOT NULL,
    image_bytes  integer NOT NULL,
    detected_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX detections_incident ON detections (incident_id);

CREATE TABLE dead_letters (
    id          bigserial PRIMARY KEY,
    event_id    text NOT NULL,
    type        text NOT NULL,
    source      text NOT NULL,
    error_dest  text NOT NULL,
    error_code  integer,
    error_data  text,
    event       bytea NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, source, error_dest)
);

-- The outbox: one row per incident, kind and channel, written in the same
-- transaction as the incident and sent after commit, so nothing is lost.
CREATE TABLE notifications (
    id              bigserial PRIMARY KEY,
    incident_id     uuid NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('opened', 'closed')),
    channel         text NOT NULL,
    camera          text NOT NULL,
    class           text NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'suppressed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    lease_until     timestamptz,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    sent_at         timestamptz,
    UNIQUE (incident_id, kind, channel)
);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_cooldown ON notifications (camera, class, channel, created_at DESC) WHERE kind = 'opened' AND status <> 'suppressed';

-- Every change to a shown incident is announced on the channel
-- edgewatch.<schema>.incidents with the incident id, for the live map.
CREATE FUNCTION incidents_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('edgewatch.' || TG_TABLE_SCHEMA || '.incidents', NEW.id::text);
    RETURN NULL;
END
$$;
CREATE TRIGGER incidents_notify AFTER INSERT OR UPDATE ON incidents
    FOR EACH ROW WHEN (NEW.status IN ('open', 'closed')) EXECUTE FUNCTION incidents_notify();
