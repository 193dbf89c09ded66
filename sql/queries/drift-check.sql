-- Compares the catalog with its saved copy; a change resets every shadow clock in this transaction.
SELECT shadowgate.drift_check($1, $2::timestamptz) AS changes
