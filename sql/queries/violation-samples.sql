SELECT l.id, l.logged_at, l.project_id, l.table_name, l.operation, l.row_project_id, l.denied_reason,
       l.row_count, l.user_name, l.session_id, l.context_project_id, l.statement, l.application_name, l.plan_dependent
  FROM shadowgate.rls_audit_log l
 WHERE l.would_be_denied
   AND ($1::text IS NULL OR l.project_id = $1)
   AND ($2::timestamptz IS NULL OR l.logged_at >= $2)
 ORDER BY l.logged_at DESC
 LIMIT $3
