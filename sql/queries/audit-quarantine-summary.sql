-- What the intake could not absorb (shadowgate.audit_quarantine): how many rows, the newest one's time and error.
SELECT count(*)::int AS rows, max(quarantined_at) AS newest_at,
       (SELECT error FROM shadowgate.audit_quarantine ORDER BY id DESC LIMIT 1) AS newest_error
  FROM shadowgate.audit_quarantine
