SELECT * FROM shadowgate.timers WHERE kind = $1 AND subject = $2 AND closed_at IS NULL
