-- Issue 17: events are identified by CloudEvents source and id, incidents end
-- by the camera's clock with a wall-clock bound, captions are taken once per
-- incident, and dead letters are stored up to a cap. Upgrades a database
-- made by 0001 in place.

-- Detections are unique per (source, event_id). Every stored detection came
-- from detect, whose source is /cameras/<camera>.
ALTER TABLE detections ADD COLUMN source text;
UPDATE detections SET source = '/cameras/' || camera;
ALTER TABLE detections ALTER COLUMN source SET NOT NULL;
ALTER TABLE detections DROP CONSTRAINT detections_event_id_key;
ALTER TABLE detections ADD CONSTRAINT detections_source_event_id_key UNIQUE (source, event_id);

-- When the newest detection of an incident was received, by alert's clock:
-- an incident whose camera falls silent ends this long plus the delivery
-- horizon after it.
ALTER TABLE incidents ADD COLUMN last_received_at timestamptz;
UPDATE incidents i SET last_received_at = coalesce(
    (SELECT max(received_at) FROM detections d WHERE d.incident_id = i.id), i.updated_at);
ALTER TABLE incidents ALTER COLUMN last_received_at SET NOT NULL;
ALTER TABLE incidents ALTER COLUMN last_received_at SET DEFAULT now();
DROP INDEX incidents_active_last_seen;
CREATE INDEX incidents_active_last_received ON incidents (last_received_at) WHERE status IN ('candidate', 'open');

-- The caption event an incident took, by source and id; NULL for captions
-- attached before this migration.
ALTER TABLE incidents ADD COLUMN caption_source text;
ALTER TABLE incidents ADD COLUMN caption_event_id text;

-- Dead letters keep at most a configured number of bytes of the event.
ALTER TABLE dead_letters ADD COLUMN event_bytes integer;
UPDATE dead_letters SET event_bytes = length(event);
ALTER TABLE dead_letters ALTER COLUMN event_bytes SET NOT NULL;
ALTER TABLE dead_letters ADD COLUMN truncated boolean NOT NULL DEFAULT false;
