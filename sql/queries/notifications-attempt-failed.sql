-- A failed attempt of notifications $1: error $2; permanent ($3) fails them for good, otherwise the
-- next attempt is due in $4 ms.
UPDATE shadowgate.notifications
   SET attempts = attempts + 1, last_error = left($2, 1000), lease_until = NULL,
       status = CASE WHEN $3 THEN 'failed' ELSE status END,
       next_attempt_at = now() + $4 * interval '1 millisecond'
 WHERE id = ANY ($1)
