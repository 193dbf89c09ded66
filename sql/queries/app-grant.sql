-- grant_app() plus USAGE on the protected tables' schemas and default sequences (005_reach.sql).
SELECT shadowgate.grant_access($1)
