INSERT INTO shadowgate.changes (project_id, kind, ref, actor, at)
VALUES ($1, $2, $3, $4, $5)
RETURNING id
