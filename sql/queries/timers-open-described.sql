-- Open investigations and lingering deadlines, with what they are about.
SELECT t.id, t.kind, t.project_id, t.opened_at, t.due_at, t.fired,
       v.id AS fingerprint_id, v.table_name, v.operation, v.row_project_id, v.denied_reason, v.occurrences
  FROM shadowgate.timers t
  LEFT JOIN shadowgate.violation_fingerprints v ON t.kind = 'investigation' AND v.id::text = t.subject
 WHERE t.closed_at IS NULL
 ORDER BY t.due_at
