INSERT INTO shadowgate.events (kind, project_id, payload)
SELECT 'calls_ingested', p, jsonb_build_object('calls', n)
  FROM unnest($1::text[], $2::bigint[]) AS u(p, n)
