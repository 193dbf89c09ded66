UPDATE shadowgate.notifications
   SET attempts = attempts + 1, last_error = $2, status = CASE WHEN $3 THEN 'failed' ELSE status END
 WHERE id = $1
