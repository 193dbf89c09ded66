-- Conditional on the firing count the caller saw ($4): two copies of one wake-up cannot both act.
UPDATE shadowgate.timers
   SET due_at = $2, fired = fired + $3
 WHERE id = $1 AND fired = $4 AND closed_at IS NULL
RETURNING *
