-- Returns the fingerprint's project; raises P0002 for an unknown fingerprint.
SELECT shadowgate.review_fingerprint($1, $2, $3, $4, $5, $6) AS project_id
