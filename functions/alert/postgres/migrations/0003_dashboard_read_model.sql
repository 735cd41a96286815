-- The dashboard's read model: the one relation the dashboard reads, with
-- exactly the columns it shows. Alert's tables behind it may change; this
-- view keeps its name, columns and meaning (docs/alert.md, "Read model"),
-- and a change to it is a new migration that the dashboard's
-- RequiredSchema names. Only shown incidents (open or closed) are in it.
--
-- Every change to a row of it is announced with pg_notify on the channel
-- edgewatch.<schema>.incidents, payload the incident id (the trigger
-- incidents_notify of 0001).
CREATE VIEW dashboard_incidents AS
SELECT id::text                                         AS id,
       camera,
       class,
       status,
       opened_at,
       last_seen_at,
       closed_at,
       max_confidence                                   AS confidence,
       hits,
       lat,
       lon,
       coalesce(caption, '')                            AS caption,
       coalesce(caption_model, '')                      AS caption_model,
       snapshot,
       (extract(epoch FROM updated_at) * 1000000)::bigint AS version
FROM incidents
WHERE status IN ('open', 'closed');
