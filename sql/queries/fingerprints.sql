-- Fingerprints with all-time counts and review state (counters, no scan of the log).
SELECT v.id, v.project_id, v.table_name, v.operation, v.row_project_id, v.denied_reason,
       v.occurrences, v.audit_rows, v.window_occurrences, v.first_seen, v.last_seen,
       v.open_since, v.resolution, v.ref, v.rationale, v.reviewed_by, v.reviewed_at
  FROM shadowgate.violation_fingerprints v
 WHERE ($1::text IS NULL OR v.project_id = $1)
 ORDER BY v.project_id, v.occurrences DESC, v.id
