-- Grants ($3) or withdraws a read permission; the reader's clock restarts in the same transaction.
SELECT shadowgate.change_read_permission($1, $2, $3, $4, $5) AS changed
