-- Coverage per project (sql/migrations/008_coverage.sql): the protected tables (partitions count for
-- their root), what it exercised in its current shadow window, what it must have exercised.
WITH roots AS (
    SELECT t.id, t.table_name
      FROM shadowgate.protected_tables t
     WHERE NOT EXISTS (SELECT 1 FROM shadowgate.protected_tables r
                        WHERE r.table_oid = pg_partition_root(t.table_oid) AND r.id <> t.id)
)
SELECT g.project_id,
       coalesce((SELECT array_agg(r.table_name::text ORDER BY r.table_name) FROM roots r), '{}') AS tables,
       coalesce((SELECT json_agg(json_build_object('table', t.table_name, 'operation', c.operation,
                                                   'transactions', c.transactions,
                                                   'first_seen', c.first_seen, 'last_seen', c.last_seen)
                                 ORDER BY t.table_name, c.operation)
                   FROM shadowgate.coverage c JOIN shadowgate.protected_tables t ON t.id = c.table_id
                  WHERE c.project_id = g.project_id), '[]') AS observed,
       shadowgate.required_coverage(g.project_id) AS required
  FROM shadowgate.project_registry g
 WHERE $1::text[] IS NULL OR g.project_id = ANY ($1)
