-- whether `db migrate` ran here (catalogs: readable by every role, whatever its grants on the schema)
SELECT EXISTS (
  SELECT FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = 'shadowgate' AND c.relname = 'schema_migrations'
) AS installed
