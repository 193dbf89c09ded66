SELECT * FROM shadowgate.timers WHERE closed_at IS NULL ORDER BY due_at
