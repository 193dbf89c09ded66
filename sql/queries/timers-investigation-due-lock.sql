-- The investigation timers among $1 that are open and due at $2, with their fingerprints and
-- leads, locked; those another worker is firing right now are skipped (they are its to fire).
SELECT t.id AS timer_id, t.fired, t.due_at,
       v.id, v.project_id, v.table_name, v.operation, v.row_project_id, v.denied_reason, v.occurrences,
       v.first_seen, v.open_since, g.lead_email, g.lead_slack
  FROM shadowgate.timers t
  LEFT JOIN shadowgate.violation_fingerprints v ON v.id::text = t.subject
  LEFT JOIN shadowgate.project_registry g ON g.project_id = v.project_id
 WHERE t.id = ANY ($1) AND t.kind = 'investigation' AND t.closed_at IS NULL AND t.due_at <= $2
 ORDER BY t.id
   FOR UPDATE OF t SKIP LOCKED
