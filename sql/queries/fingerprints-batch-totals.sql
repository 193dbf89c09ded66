-- What batch $1 announced, per project: fingerprints and their row accesses.
SELECT project_id, count(*)::bigint AS fingerprints, sum(occurrences)::bigint AS occurrences
  FROM shadowgate.violation_fingerprints
 WHERE announced_batch = $1
 GROUP BY project_id
 ORDER BY count(*) DESC, project_id
