-- Everything the exit criteria need, per project, from counters kept as data arrives
-- (violation_fingerprints, the per-project transaction sequences): no scan of rls_audit_log.
SELECT g.project_id, g.name, g.access_level, g.legacy_owner, g.min_shadow_days,
       g.lead_email, g.lead_slack,
       s.migration_phase AS phase, s.updated_at, s.shadow_started_at,
       coalesce(shadowgate.shadow_transactions(g.project_id), 0) AS transactions,
       -- declared in sessions without a recorder: not counted, their would-be denials not recorded
       coalesce(shadowgate.shadow_unobserved(g.project_id), 0) AS unobserved,
       -- plus the findings of transactions still open (counted already, not absorbed until they
       -- end): a transaction held open across a promotion must not pass for a clean one
       coalesce(f.violations, 0) + w.waiting AS violations,
       coalesce(f.unresolved, 0) + w.waiting AS unresolved,
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
  CROSS JOIN LATERAL (
        SELECT count(*) AS waiting
          FROM shadowgate.audit_inbox i, unnest(i.keys, i.counts) AS k(key, n), shadowgate.parse_key(k.key) AS x
         WHERE k.n > 0
           AND CASE x[3] WHEN 'x' THEN i.context_project_id = g.project_id
                         ELSE shadowgate.key_owner(x[4]) = g.project_id END) w
 WHERE $1::text[] IS NULL OR g.project_id = ANY ($1)
 ORDER BY g.seq_no
