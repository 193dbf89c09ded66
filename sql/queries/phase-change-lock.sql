-- One phase change at a time: two operators cannot interleave their checks and writes.
SELECT pg_advisory_xact_lock(hashtext('shadowgate.phase-change'))
