-- Claims for batch $3 the unreviewed fingerprints among $1 not announced in window $2 yet (locks
-- taken in absorb_audit()'s order). In the transaction that moves the event position: a batch
-- announces each fingerprint once, a replay announces nothing.
UPDATE shadowgate.violation_fingerprints v SET notified_window = $2, announced_batch = $3
 WHERE v.open_since IS NOT NULL AND v.notified_window IS DISTINCT FROM $2
   AND v.id IN (SELECT id FROM shadowgate.violation_fingerprints WHERE id = ANY ($1)
                 ORDER BY fingerprint FOR UPDATE)
