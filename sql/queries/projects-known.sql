SELECT project_id FROM shadowgate.project_registry WHERE project_id = ANY ($1)
