-- Stores a project's eligibility in its shadow window ($5); eligible_since is kept while the project
-- stays eligible in the same window. Returns what it was before (NULL the first time).
WITH prev AS (SELECT eligible, window_started_at FROM shadowgate.eligibility_state WHERE project_id = $1 FOR UPDATE)
INSERT INTO shadowgate.eligibility_state AS st (project_id, eligible, reasons, computed_at, window_started_at, eligible_since)
VALUES ($1, $2, $3, $4, $5, CASE WHEN $2 THEN $4::timestamptz END)
ON CONFLICT (project_id) DO UPDATE
   SET eligible = EXCLUDED.eligible, reasons = EXCLUDED.reasons, computed_at = EXCLUDED.computed_at,
       window_started_at = EXCLUDED.window_started_at,
       eligible_since = CASE WHEN NOT EXCLUDED.eligible THEN NULL
                             WHEN st.eligible AND st.window_started_at IS NOT DISTINCT FROM EXCLUDED.window_started_at
                             THEN least(st.eligible_since, EXCLUDED.eligible_since)
                             ELSE EXCLUDED.eligible_since END
RETURNING (SELECT eligible FROM prev) AS prev, (SELECT window_started_at FROM prev) AS prev_window, st.eligible_since
