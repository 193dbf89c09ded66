-- Where the producer stands in the event outbox (sql/migrations/006_pipeline.sql), locked: one
-- producer moves it at a time.
SELECT done::text, target::text, after_txid, after_id, batch
  FROM shadowgate.event_position
 WHERE name = 'events'
   FOR UPDATE
