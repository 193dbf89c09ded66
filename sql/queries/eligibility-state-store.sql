-- Stores a project's eligibility; returns what it was before (NULL the first time).
WITH prev AS (SELECT eligible FROM shadowgate.eligibility_state WHERE project_id = $1 FOR UPDATE)
INSERT INTO shadowgate.eligibility_state AS st (project_id, eligible, reasons, computed_at)
VALUES ($1, $2, $3, $4)
ON CONFLICT (project_id) DO UPDATE
   SET eligible = EXCLUDED.eligible, reasons = EXCLUDED.reasons, computed_at = EXCLUDED.computed_at
RETURNING (SELECT eligible FROM prev) AS prev
