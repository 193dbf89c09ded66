-- The unreviewed fingerprints of a project, table and operation (each NULL: any).
SELECT id FROM shadowgate.violation_fingerprints
 WHERE open_since IS NOT NULL AND ($1::text IS NULL OR project_id = $1)
   AND ($2::text IS NULL OR table_name = $2) AND ($3::text IS NULL OR operation = $3)
 ORDER BY id
