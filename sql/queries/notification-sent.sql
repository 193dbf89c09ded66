UPDATE shadowgate.notifications
   SET status = 'sent', sent_at = $2, attempts = attempts + 1
 WHERE id = $1
