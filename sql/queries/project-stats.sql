-- Everything the exit criteria need, per project, from counters kept as data arrives
-- (violation_fingerprints, the per-project transaction sequences): no scan of rls_audit_log.
SELECT g.project_id, g.name, g.access_level, g.legacy_owner, g.min_shadow_days,
       g.lead_email, g.lead_slack,
       s.migration_phase AS phase, s.updated_at, s.shadow_started_at,
       coalesce(shadowgate.shadow_transactions(g.project_id), 0) AS transactions,
       coalesce(f.violations, 0) AS violations,
       coalesce(f.unresolved, 0) AS unresolved,
       coalesce(f.unreviewed, 0) AS unreviewed_fingerprints,
       coalesce(f.fingerprints, 0) AS fingerprints,
       -- last seen not eligible, in the current shadow window only
       CASE WHEN e.window_started_at = s.shadow_started_at THEN e.ineligible_seen_at END AS ineligible_seen_at
  FROM shadowgate.project_registry g
  JOIN shadowgate.rls_migration_status s ON s.project_id = g.project_id
  LEFT JOIN shadowgate.eligibility_state e ON e.project_id = g.project_id
  LEFT JOIN LATERAL (
        SELECT sum(v.window_occurrences) AS violations,
               sum(v.window_occurrences) FILTER (WHERE v.resolution IS DISTINCT FROM 'false-positive') AS unresolved,
               count(*) FILTER (WHERE v.open_since IS NOT NULL) AS unreviewed,
               count(*) FILTER (WHERE v.window_occurrences > 0 OR v.open_since IS NOT NULL) AS fingerprints
          FROM shadowgate.violation_fingerprints v
         WHERE v.project_id = g.project_id) f ON true
 WHERE $1::text[] IS NULL OR g.project_id = ANY ($1)
 ORDER BY g.seq_no
