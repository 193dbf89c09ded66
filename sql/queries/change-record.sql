-- The change, and the clock reset of a project in shadow, in one transaction.
SELECT change_id, clock_reset FROM shadowgate.record_change($1, $2, $3, $4, $5)
