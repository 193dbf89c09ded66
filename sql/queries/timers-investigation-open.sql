-- An investigation per unreviewed fingerprint of $1, due $2 hours after its first unreviewed
-- occurrence, or after $3 when the workers' clock is behind the database's (the demo's replay).
INSERT INTO shadowgate.timers (kind, subject, project_id, opened_at, due_at)
SELECT 'investigation', v.id::text, v.project_id, least(v.open_since, $3), least(v.open_since, $3) + $2 * interval '1 hour'
  FROM shadowgate.violation_fingerprints v
 WHERE v.id = ANY ($1) AND v.open_since IS NOT NULL
ON CONFLICT (kind, subject) WHERE closed_at IS NULL DO NOTHING
