INSERT INTO shadowgate.tool_call_counts AS t (project_id, bucket, calls)
SELECT * FROM unnest($1::text[], $2::timestamptz[], $3::bigint[])
ON CONFLICT (project_id, bucket) DO UPDATE SET calls = t.calls + EXCLUDED.calls
