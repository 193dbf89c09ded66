SELECT id, txid, kind, project_id, payload, created_at
  FROM shadowgate.events
 WHERE txid >= $1 AND txid < $2
 ORDER BY txid, id
 LIMIT $3
