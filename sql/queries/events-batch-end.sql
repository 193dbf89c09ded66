-- The batch in progress is taken entirely: its target becomes the new `done`.
UPDATE shadowgate.event_position
   SET done = target, target = NULL, after_txid = NULL, after_id = NULL, batch = batch + 1, updated_at = now()
 WHERE name = 'events'
