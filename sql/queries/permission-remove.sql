DELETE FROM shadowgate.project_read_permissions
 WHERE reader_project_id = $1 AND target_project_id = $2
