-- Pending deliveries whose next attempt is due and that nobody attempts now, oldest first.
SELECT id, attempts
  FROM shadowgate.notifications
 WHERE status = 'pending' AND next_attempt_at <= now() AND (lease_until IS NULL OR lease_until < now())
 ORDER BY next_attempt_at, id
 LIMIT $1
