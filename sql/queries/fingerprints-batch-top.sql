-- The $2 fingerprints of batch $1 with the most row accesses (a digest names these, counts the rest).
SELECT v.id, v.project_id, v.table_name, v.operation, v.row_project_id, v.denied_reason, v.occurrences, v.first_seen
  FROM shadowgate.violation_fingerprints v
 WHERE v.announced_batch = $1
 ORDER BY v.occurrences DESC, v.id
 LIMIT $2
