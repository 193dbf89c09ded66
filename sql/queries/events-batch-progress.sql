-- The batch in progress has been taken up to event ($1, $2).
UPDATE shadowgate.event_position SET after_txid = $1, after_id = $2, updated_at = now() WHERE name = 'events'
