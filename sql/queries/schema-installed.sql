SELECT to_regclass('shadowgate.schema_migrations') IS NOT NULL AS installed
