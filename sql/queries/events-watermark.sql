-- The producer's watermark and the oldest transaction still running: events below it are final.
SELECT txid AS lo, txid_snapshot_xmin(txid_current_snapshot()) AS hi
  FROM shadowgate.watermarks
 WHERE name = 'events'
