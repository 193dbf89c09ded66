INSERT INTO shadowgate.project_read_permissions (reader_project_id, target_project_id)
VALUES ($1, $2)
ON CONFLICT DO NOTHING
