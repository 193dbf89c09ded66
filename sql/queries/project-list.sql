SELECT g.project_id, g.name, g.access_level, g.legacy_owner, g.lead_email, g.lead_slack, g.min_shadow_days, g.transactions_from,
       s.migration_phase AS phase, s.updated_at, s.shadow_started_at,
       coalesce((SELECT array_agg(r.target_project_id ORDER BY r.target_project_id)
                   FROM shadowgate.project_read_permissions r
                  WHERE r.reader_project_id = g.project_id), '{}') AS reads,
       -- project set --require-coverage (table null: every protected table)
       shadowgate.required_coverage(g.project_id) AS required_coverage
  FROM shadowgate.project_registry g
  JOIN shadowgate.rls_migration_status s ON s.project_id = g.project_id
 ORDER BY g.seq_no
