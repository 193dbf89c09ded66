UPDATE shadowgate.timers SET closed_at = $2 WHERE id = ANY ($1) AND closed_at IS NULL
