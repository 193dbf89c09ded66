-- Forced phase changes of project $1 that have no announcement yet (key 'forced:<history id>').
SELECT h.id, h.project_id, h.from_phase, h.to_phase, h.forced, h.actor, h.reason, h.at, h.evidence
  FROM shadowgate.rls_phase_history h
 WHERE h.project_id = $1 AND h.kind = 'phase' AND h.forced
   AND NOT EXISTS (SELECT 1 FROM shadowgate.notifications n WHERE n.dedupe_key = 'forced:' || h.id)
 ORDER BY h.id
