-- Stores a project's eligibility in its shadow window ($5) and the last moment it was seen not
-- eligible in that window. Returns what it was before (NULL the first time) and in which window.
WITH prev AS (SELECT eligible, window_started_at FROM shadowgate.eligibility_state WHERE project_id = $1 FOR UPDATE)
INSERT INTO shadowgate.eligibility_state AS st (project_id, eligible, reasons, computed_at, window_started_at, ineligible_seen_at)
VALUES ($1, $2, $3, $4, $5, CASE WHEN NOT $2 THEN $4::timestamptz END)
ON CONFLICT (project_id) DO UPDATE
   SET eligible = EXCLUDED.eligible, reasons = EXCLUDED.reasons, computed_at = EXCLUDED.computed_at,
       window_started_at = EXCLUDED.window_started_at,
       ineligible_seen_at = CASE WHEN st.window_started_at IS NOT DISTINCT FROM EXCLUDED.window_started_at
                                 THEN greatest(st.ineligible_seen_at, EXCLUDED.ineligible_seen_at)
                                 ELSE EXCLUDED.ineligible_seen_at END
RETURNING (SELECT eligible FROM prev) AS prev, (SELECT window_started_at FROM prev) AS prev_window
