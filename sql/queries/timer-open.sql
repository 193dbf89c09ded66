-- Opens a timer unless one is open for the same subject (then no row).
INSERT INTO shadowgate.timers (kind, subject, project_id, opened_at, due_at)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (kind, subject) WHERE closed_at IS NULL DO NOTHING
RETURNING *
