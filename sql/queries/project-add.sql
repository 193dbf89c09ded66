INSERT INTO shadowgate.project_registry
    (project_id, name, access_level, legacy_owner, lead_email, lead_slack, min_shadow_days, transactions_from)
VALUES ($1::text, coalesce($2::text, $1::text), $3, $4, $5, $6, $7, $8)
