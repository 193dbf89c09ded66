-- One root cause for the fingerprints $1; returns their projects; raises P0002 naming unknown ids.
SELECT shadowgate.review_fingerprints($1, $2, $3, $4, $5, $6) AS projects
