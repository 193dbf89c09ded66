-- Each log line once; returns the calls added per project.
SELECT project_id, lines, calls FROM shadowgate.ingest_tool_calls($1, $2, $3, $4, $5)
