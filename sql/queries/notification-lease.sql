-- The lease of one delivery attempt of pending notification $1 for $2 ms: while it holds, no other
-- worker attempts it (one attempt in flight per message).
UPDATE shadowgate.notifications SET lease_until = now() + $2 * interval '1 millisecond'
 WHERE id = $1 AND status = 'pending' AND (lease_until IS NULL OR lease_until < now())
RETURNING id, channel, target, subject, body, attempts, created_at
