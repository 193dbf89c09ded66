-- The other notifications held back by failed attempts for channel $2 and target $3 (besides $1),
-- oldest first, as many as fit in $4 characters of text, leased for $5 ms: after an outage the
-- backlog goes out as digests, not as a flood.
WITH held AS (
    SELECT id, sum(length(body->>'text')) OVER (ORDER BY id) AS upto
      FROM (SELECT id, body FROM shadowgate.notifications
             WHERE status = 'pending' AND channel = $2 AND target = $3 AND attempts > 0 AND id <> $1
               AND (lease_until IS NULL OR lease_until < now())
             ORDER BY id
             LIMIT 500
               FOR UPDATE SKIP LOCKED) h
)
UPDATE shadowgate.notifications n SET lease_until = now() + $5 * interval '1 millisecond'
  FROM held
 WHERE n.id = held.id AND held.upto <= $4
RETURNING n.id, n.channel, n.target, n.subject, n.body, n.attempts, n.created_at
