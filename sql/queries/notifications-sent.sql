UPDATE shadowgate.notifications
   SET status = 'sent', sent_at = now(), attempts = attempts + 1, lease_until = NULL
 WHERE id = ANY ($1)
