-- What `shadowgate health` judges: the last progress of producers and workers (seconds ago), and
-- work left waiting for more than $1 seconds (deliveries nobody attempts, timers nobody fires).
SELECT extract(epoch FROM now() - (SELECT max(at) FROM shadowgate.pipeline_heartbeats WHERE role = 'producer'))::float8 AS producer_age,
       extract(epoch FROM now() - (SELECT max(at) FROM shadowgate.pipeline_heartbeats WHERE role = 'workers'))::float8 AS workers_age,
       (SELECT count(*) FROM shadowgate.notifications WHERE status = 'pending')::int AS pending,
       (SELECT count(*) FROM shadowgate.notifications WHERE status = 'pending'
           AND next_attempt_at < now() - $1 * interval '1 second'
           AND (lease_until IS NULL OR lease_until < now()))::int AS deliveries_stuck,
       (SELECT count(*) FROM shadowgate.notifications WHERE status = 'failed')::int AS failed,
       (SELECT last_error FROM shadowgate.notifications WHERE status <> 'sent' AND last_error IS NOT NULL
         ORDER BY id DESC LIMIT 1) AS last_error,
       (SELECT count(*) FROM shadowgate.timers WHERE closed_at IS NULL
           AND due_at < now() - $1 * interval '1 second')::int AS timers_overdue
