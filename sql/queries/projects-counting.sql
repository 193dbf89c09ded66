-- When each project was registered and where its transactions are counted (ingest-calls' checks).
SELECT project_id, created_at, transactions_from FROM shadowgate.project_registry
 WHERE project_id = ANY ($1) ORDER BY project_id
