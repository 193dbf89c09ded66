-- Open timers due at $1, earliest first.
SELECT id, kind, subject, project_id, opened_at, due_at, fired, closed_at
  FROM shadowgate.timers
 WHERE closed_at IS NULL AND due_at <= $1
 ORDER BY due_at, id
 LIMIT $2
