-- Every phase decision with the evidence stored when it was taken.
SELECT id, project_id, from_phase, to_phase, forced, actor, reason, at, evidence
  FROM shadowgate.rls_phase_history WHERE kind = 'phase' ORDER BY project_id, id
