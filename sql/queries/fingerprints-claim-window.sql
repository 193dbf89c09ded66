-- Claims the unreviewed fingerprints of $1 for notification window $2 (those not claimed for it
-- yet), with their lead: a retried or replayed job announces nothing twice.
UPDATE shadowgate.violation_fingerprints v SET notified_window = $2
  FROM shadowgate.violation_fingerprints f
  LEFT JOIN shadowgate.project_registry g ON g.project_id = f.project_id
 WHERE v.id = f.id AND v.open_since IS NOT NULL AND v.notified_window IS DISTINCT FROM $2
   AND v.id IN (SELECT id FROM shadowgate.violation_fingerprints WHERE id = ANY ($1)
                 ORDER BY fingerprint FOR UPDATE) -- the lock order of absorb_audit()
RETURNING v.id, v.project_id, v.table_name, v.operation, v.row_project_id, v.denied_reason, v.occurrences,
          v.first_seen, v.open_since, g.lead_email, g.lead_slack
