-- Refuses what must not be protected, then protects the table and its partitions (005_reach.sql).
SELECT shadowgate.protect_table($1::regclass, $2) AS tables
