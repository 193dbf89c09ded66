-- Every route around the policies or around recording (sql/migrations/005_reach.sql), minus the
-- allowed roles ($1) and the role running it.
SELECT kind, object, why, fix FROM shadowgate.doctor($1::text[])
