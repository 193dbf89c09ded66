-- Starts the next batch: everything committed by now and not in `done`.
UPDATE shadowgate.event_position
   SET target = txid_current_snapshot(), after_txid = 0, after_id = 0, updated_at = now()
 WHERE name = 'events'
RETURNING target::text
