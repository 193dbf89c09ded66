SELECT project_id, day::text AS day, occurrences
  FROM shadowgate.violation_daily
 WHERE day >= $1::date
 ORDER BY day, project_id
