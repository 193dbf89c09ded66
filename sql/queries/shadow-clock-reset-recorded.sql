SELECT 1 FROM shadowgate.rls_phase_history WHERE project_id = $1 AND reason = $2
