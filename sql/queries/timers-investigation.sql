SELECT *
  FROM shadowgate.timers
 WHERE kind = 'investigation' AND closed_at IS NULL AND subject = ANY ($1::bigint[]::text[])
