-- Deliveries in trouble: failed for good (a permanent rejection), and pending after failed attempts
-- (an outage, retried), with the last error.
SELECT count(*) FILTER (WHERE status = 'failed')::int AS failed,
       count(*) FILTER (WHERE status = 'pending' AND attempts > 0)::int AS retrying,
       (array_agg(last_error ORDER BY id DESC) FILTER (WHERE last_error IS NOT NULL))[1] AS last_error
  FROM shadowgate.notifications
 WHERE status <> 'sent'
