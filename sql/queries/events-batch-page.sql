-- A page of the batch between snapshots $1 (done) and $2 (target) after ($3, $4), in (txid, id)
-- order: the events of transactions committed in $2 and not in $1. Those have a txid from xmax($1)
-- on, or one of xip($1) (open when $1 was taken): two index range scans, however old xmin is.
SELECT id, txid, kind, project_id, payload, created_at
  FROM ((SELECT * FROM shadowgate.events e
          WHERE e.txid >= greatest(txid_snapshot_xmax($1::txid_snapshot), $3::bigint)
            AND e.txid < txid_snapshot_xmax($2::txid_snapshot)
            AND (e.txid, e.id) > ($3::bigint, $4::bigint)
            AND txid_visible_in_snapshot(e.txid, $2::txid_snapshot)
          ORDER BY e.txid, e.id
          LIMIT $5)
        UNION ALL
        (SELECT * FROM shadowgate.events e
          WHERE e.txid = ANY (ARRAY(SELECT txid_snapshot_xip($1::txid_snapshot)))
            AND (e.txid, e.id) > ($3::bigint, $4::bigint)
            AND txid_visible_in_snapshot(e.txid, $2::txid_snapshot)
          ORDER BY e.txid, e.id
          LIMIT $5)) page
 ORDER BY txid, id
 LIMIT $5
