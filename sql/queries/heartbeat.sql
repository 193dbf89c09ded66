-- A producer or worker process ($1, instance $2) made progress; heartbeats of processes gone for a
-- day are forgotten.
WITH gone AS (DELETE FROM shadowgate.pipeline_heartbeats WHERE at < now() - interval '1 day')
INSERT INTO shadowgate.pipeline_heartbeats (role, instance, at) VALUES ($1, $2, now())
ON CONFLICT (role, instance) DO UPDATE SET at = now()
