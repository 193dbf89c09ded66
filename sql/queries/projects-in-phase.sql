SELECT project_id FROM shadowgate.rls_migration_status WHERE migration_phase = $1
