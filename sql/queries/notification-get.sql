SELECT id, dedupe_key, channel, target, subject, body, status, attempts
  FROM shadowgate.notifications
 WHERE id = $1
