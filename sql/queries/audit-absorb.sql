-- The intake step: empties the audit inbox into rls_audit_log and the fingerprints (cheap when empty).
SELECT shadowgate.absorb_audit() AS events
