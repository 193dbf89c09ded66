-- Fingerprints counted over the would-be denials logged since $2 (partial index on logged_at).
SELECT v.id, a.project_id, a.table_name, a.operation, a.row_project_id, a.denied_reason,
       a.occurrences, a.audit_rows, v.window_occurrences, a.first_seen, a.last_seen,
       v.open_since, v.resolution, v.ref, v.rationale, v.reviewed_by, v.reviewed_at
  FROM (SELECT l.project_id, l.table_name, l.operation, l.row_project_id, l.denied_reason,
               sum(l.row_count) AS occurrences, count(*) AS audit_rows,
               min(l.logged_at) AS first_seen, max(l.logged_at) AS last_seen
          FROM shadowgate.rls_audit_log l
         WHERE l.would_be_denied AND l.logged_at >= $2 AND ($1::text IS NULL OR l.project_id = $1)
         GROUP BY 1, 2, 3, 4, 5) a
  -- matched on the fingerprint's columns, not its hash: the hash formula lives in 002_recording.sql only
  LEFT JOIN shadowgate.violation_fingerprints v
         ON v.project_id = a.project_id AND v.table_name = a.table_name AND v.operation = a.operation
        AND v.row_project_id IS NOT DISTINCT FROM a.row_project_id AND v.denied_reason = a.denied_reason
 ORDER BY a.project_id, a.occurrences DESC
