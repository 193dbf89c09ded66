-- Once per (dedupe key, channel): no row returned when it existed.
INSERT INTO shadowgate.notifications (dedupe_key, channel, target, subject, body)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (dedupe_key, channel) DO NOTHING
RETURNING id
