SELECT v.id, v.project_id, v.table_name, v.operation, v.row_project_id, v.denied_reason, v.occurrences,
       v.first_seen, v.open_since, g.lead_email, g.lead_slack
  FROM shadowgate.violation_fingerprints v
  LEFT JOIN shadowgate.project_registry g ON g.project_id = v.project_id
 WHERE v.id = $1
