-- Up Migration
-- Intake: absorb_audit() empties the audit inbox (002_recording.sql) into rls_audit_log and the
-- violation counters, in the caller's transaction, in named steps:
--   1. inbox_findings(): the inbox rows decoded into findings, one per (transaction, key), counts
--      summed and clamped; a key that cannot be read is marked (table_id NULL);
--   2. audit_records(): the findings the access itself could have produced (checked against the
--      phases and permissions), as the rls_audit_log rows they become;
--   3. absorb_rows(): quarantines the unreadable keys, writes the audit rows and the daily counts;
--   4. fold_fingerprints(): the audit rows folded into the fingerprints, one 'violation' event per
--      fingerprint touched.
-- Nothing in the inbox can stop it (the application can set the settings the policies use, so it
-- can forge keys and counts): an unreadable key goes to audit_quarantine while the rest of its
-- transaction is absorbed; if the inbox still cannot be absorbed at once, it is absorbed one
-- transaction at a time and a transaction that fails goes to the quarantine whole, with its error.

-- What could not be absorbed: why, and the inbox row as JSON (whatever the inbox's columns). For an
-- unreadable key: its transaction's inbox row narrowed to that key, with the key's count. Shown by
-- `shadowgate status`, the dashboard and /metrics; kept until an operator deletes it.
CREATE TABLE shadowgate.audit_quarantine (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    quarantined_at timestamptz NOT NULL DEFAULT now(),
    txid           bigint,
    error          text NOT NULL,
    inbox_row      jsonb NOT NULL
);

-- A transaction's accesses under one key (memo_key()).
CREATE TYPE shadowgate.finding AS (
    txid               bigint,
    logged_at          timestamptz,
    context_project_id text,
    user_name          text,
    session_id         text,
    key                text,
    row_count          bigint,   -- summed over the transaction's inbox rows, clamped (inbox_findings())
    table_id           integer,  -- decoded from the key (parse_key()); NULL: the key cannot be read
    op                 text,     -- r read, i insert, u update, d delete, w an update's new row
    reason             text,     -- x cross-tenant, n no project context, u unknown project
    row_project_id     text,     -- the row owner (NULL: the row has none)
    statement          text,     -- the statement that noted it first (its first kB)
    application_name   text
);

-- The one formula of a fingerprint: one violation (project, table, operation, row owner, reason)
-- across transactions. Each part quoted (quote_nullable(): a NULL is NULL, a string is quoted), so
-- distinct parts give distinct texts: a NULL owner and the string '<null>' are different owners.
CREATE FUNCTION shadowgate.fingerprint(project_id text, table_name text, operation text, row_project_id text,
                                       denied_reason text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$
    SELECT md5(quote_nullable(project_id) || '|' || quote_nullable(table_name) || '|' || quote_nullable(operation)
               || '|' || quote_nullable(row_project_id) || '|' || quote_nullable(denied_reason))
$$;

-- Step 1. The inbox rows as findings: one per transaction and key, the counts of its rows summed
-- (a transaction is its session and start: the recorder takes it in pieces; its id is the
-- application's when it had one, else the last recorder's that took a piece of it)
-- and clamped to 2^31 - 1. A real count is the rows one transaction was denied under one key; at
-- ~1.5 µs per noted row, 2^31 is most of an hour of nothing else. The clamp keeps a forged count
-- (the application can set the counters) from overflowing the bigint counters: that now takes
-- 2^32 such transactions. A key counted 0 times or fewer is no finding.
CREATE FUNCTION shadowgate.inbox_findings(p_rows shadowgate.audit_inbox[]) RETURNS SETOF shadowgate.finding
LANGUAGE sql STABLE
AS $$
    SELECT t.txid, t.logged_at, t.context_project_id, t.user_name, t.session_id, t.key,
           least(t.n, 2147483647)::bigint, t.x[1]::integer, t.x[2], t.x[3], shadowgate.key_owner(t.x[4]),
           t.statement, t.application_name
      FROM (SELECT coalesce(max(r.app_txid), max(r.txid)) AS txid, min(r.logged_at) AS logged_at,
                   r.context_project_id, r.user_name, r.session_id, k.key, sum(k.n) AS n,
                   shadowgate.parse_key(k.key) AS x,
                   (array_agg(r.statement ORDER BY r.logged_at) FILTER (WHERE r.statement IS NOT NULL))[1] AS statement,
                   (array_agg(r.application_name ORDER BY r.logged_at))[1] AS application_name
              FROM unnest(p_rows) AS r, unnest(r.keys, r.counts) AS k(key, n)
             GROUP BY r.session_id, r.xact_start, r.context_project_id, r.user_name, k.key) AS t
     WHERE t.n > 0
$$;

-- Step 2. The findings the access itself could have produced, as the rls_audit_log rows they
-- become. A finding that claims what could not have happened is left out: the reason must match
-- the context (none, unregistered, or a project that may not read/write that owner), and the owner
-- (no context, unknown project) or the context (cross-tenant) must be past 'pending'. An unreadable
-- finding names no table. Values longer than the columns are cut to fit. A cross-tenant note made
-- while the context was empty or unregistered is judged as made under it ('n', 'u'): the policy's
-- initPlan judges the context once per statement, note_row() reads it per row, so a statement that
-- sets it per row (set_config() in its select list) notes its later rows under a context the
-- initPlan did not see (test/recorder-attacks.test.ts); before, they were left out, uncounted.
CREATE FUNCTION shadowgate.audit_records(p_findings shadowgate.finding[]) RETURNS SETOF shadowgate.rls_audit_log
LANGUAGE sql STABLE
AS $$
    SELECT NULL::bigint, n.logged_at,
           CASE WHEN e.reason = 'x' THEN n.context_project_id ELSE n.row_project_id END,
           left(t.table_name, 100),
           shadowgate.operation_name(n.op),
           left(n.row_project_id, 50), true,
           CASE e.reason WHEN 'x' THEN CASE WHEN n.op = 'r' THEN 'cross-tenant read' ELSE 'cross-tenant write' END
                         WHEN 'n' THEN 'no project context' ELSE 'unknown project' END
             || CASE WHEN n.op = 'w' THEN ' (new row)' ELSE '' END,
           left(n.user_name, 100), left(n.session_id, 100), left(n.context_project_id, 50), n.row_count, n.txid,
           left(n.statement, 1024), left(n.application_name, 64), shadowgate.statement_may_discard(n.statement)
      FROM unnest(p_findings) AS n
      JOIN shadowgate.protected_tables t ON t.id = n.table_id
      LEFT JOIN shadowgate.project_registry g ON g.project_id = n.context_project_id
      CROSS JOIN LATERAL (SELECT CASE WHEN n.reason <> 'x' THEN n.reason WHEN n.context_project_id IS NULL THEN 'n'
                                      WHEN g.project_id IS NULL THEN 'u' ELSE 'x' END AS reason) e
      LEFT JOIN shadowgate.rls_migration_status cs ON cs.project_id = n.context_project_id
      LEFT JOIN shadowgate.rls_migration_status os ON os.project_id = n.row_project_id
     WHERE CASE e.reason
             WHEN 'x' THEN cs.migration_phase <> 'pending'
                  AND n.row_project_id IS DISTINCT FROM n.context_project_id
                  AND (n.op <> 'r' OR (g.access_level <> 'super' AND NOT EXISTS (
                         SELECT 1 FROM shadowgate.project_read_permissions r
                          WHERE g.access_level = 'shared' AND r.reader_project_id = n.context_project_id
                            AND r.target_project_id = n.row_project_id)))
             WHEN 'n' THEN n.context_project_id IS NULL AND os.migration_phase <> 'pending'
             WHEN 'u' THEN n.context_project_id IS NOT NULL AND g.project_id IS NULL AND os.migration_phase <> 'pending'
             ELSE false END
$$;

-- Step 3. Absorbs inbox rows: their unreadable keys to the quarantine, every other finding that
-- holds to rls_audit_log (stamped with the transaction that made the access), violation_daily and
-- the fingerprints. Returns the number of violation events.
CREATE FUNCTION shadowgate.absorb_rows(p_rows shadowgate.audit_inbox[]) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_findings shadowgate.finding[] := ARRAY(SELECT f FROM shadowgate.inbox_findings(p_rows) AS f);
    v_records  shadowgate.rls_audit_log[] := ARRAY(SELECT a FROM shadowgate.audit_records(v_findings) AS a);
BEGIN
    INSERT INTO shadowgate.audit_quarantine (txid, error, inbox_row)
    SELECT f.txid, 'unreadable key: not one memo_key() writes (or its owner is not UTF-8 text)',
           jsonb_build_object('txid', f.txid, 'logged_at', f.logged_at, 'context_project_id', f.context_project_id,
                              'user_name', f.user_name, 'session_id', f.session_id,
                              'keys', jsonb_build_array(f.key), 'counts', jsonb_build_array(f.row_count))
      FROM unnest(v_findings) AS f
     WHERE f.table_id IS NULL;
    INSERT INTO shadowgate.rls_audit_log
        (logged_at, project_id, table_name, operation, row_project_id, would_be_denied, denied_reason,
         user_name, session_id, context_project_id, row_count, txid, statement, application_name, plan_dependent)
    SELECT logged_at, project_id, table_name, operation, row_project_id, would_be_denied, denied_reason,
           user_name, session_id, context_project_id, row_count, txid, statement, application_name, plan_dependent
      FROM unnest(v_records);
    INSERT INTO shadowgate.violation_daily AS d (project_id, day, occurrences)
    SELECT project_id, (logged_at AT TIME ZONE 'UTC')::date, sum(row_count)
      FROM unnest(v_records) GROUP BY 1, 2
    ON CONFLICT (project_id, day) DO UPDATE SET occurrences = d.occurrences + EXCLUDED.occurrences;
    RETURN shadowgate.fold_fingerprints(v_records);
END $$;

-- Step 4. Audit records folded into violation_fingerprints, counted in the window of their
-- project's shadow clock when their transaction committed after it started; one 'violation' event
-- per fingerprint touched. Returns how many events.
CREATE FUNCTION shadowgate.fold_fingerprints(p_records shadowgate.rls_audit_log[]) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$  -- plpgsql: the plan is cached
DECLARE
    v_events integer;
BEGIN
    WITH agg AS (
        SELECT shadowgate.fingerprint(a.project_id, a.table_name, a.operation, a.row_project_id, a.denied_reason) AS fp,
               a.project_id, a.table_name, a.operation, a.row_project_id, a.denied_reason,
               sum(a.row_count) AS occ, count(*) AS audit_n, min(a.logged_at) AS first, max(a.logged_at) AS last,
               coalesce(sum(a.row_count) FILTER (WHERE s.shadow_started_at IS NOT NULL
                                                     AND NOT txid_visible_in_snapshot(a.txid, s.shadow_started_snapshot)), 0) AS win
          FROM unnest(p_records) AS a
          LEFT JOIN shadowgate.rls_migration_status s ON s.project_id = a.project_id
         GROUP BY 1, 2, 3, 4, 5, 6
    ), folded AS (
        INSERT INTO shadowgate.violation_fingerprints AS f
            (fingerprint, project_id, table_name, operation, row_project_id, denied_reason,
             occurrences, audit_rows, window_occurrences, first_seen, last_seen, open_since)
        SELECT fp, project_id, table_name, operation, row_project_id, denied_reason,
               occ, audit_n, win, first, last, first
          FROM agg
         ORDER BY fp  -- every writer of fingerprints locks them in this order: no deadlocks
        ON CONFLICT (fingerprint) DO UPDATE SET
            occurrences = f.occurrences + EXCLUDED.occurrences,
            audit_rows = f.audit_rows + EXCLUDED.audit_rows,
            window_occurrences = f.window_occurrences + EXCLUDED.window_occurrences,
            first_seen = least(f.first_seen, EXCLUDED.first_seen),
            last_seen = greatest(f.last_seen, EXCLUDED.last_seen),
            -- a recurrence after a code fix or an ACL change is a new, unreviewed violation;
            -- a documented false positive stays reviewed
            open_since = CASE
                WHEN f.open_since IS NOT NULL THEN f.open_since
                WHEN f.resolution = 'false-positive' THEN NULL
                WHEN EXCLUDED.last_seen > f.reviewed_at THEN greatest(EXCLUDED.first_seen, f.reviewed_at)
                ELSE NULL END
        RETURNING f.id, f.fingerprint, f.project_id, (xmax = 0) AS created, f.open_since
    ), announced AS (
        INSERT INTO shadowgate.events (kind, project_id, payload)
        SELECT 'violation', folded.project_id,
               jsonb_build_object('fingerprint_id', folded.id, 'created', folded.created,
                                  'added', agg.occ, 'open_since', folded.open_since)
          FROM folded JOIN agg ON agg.fp = folded.fingerprint
        RETURNING 1
    )
    SELECT count(*) INTO v_events FROM announced;
    RETURN v_events;
END $$;

-- Empties the audit inbox of ended transactions (one caller at a time: lock_audit()), carries the
-- transaction counters at most every 10 s and folds the coverage inbox (if that fails, its rows wait
-- for the next call). The rows are absorbed at once; if that fails, one transaction at a
-- time, and the rows of a transaction that still fails go to the quarantine with the error: no
-- row, forged or not, stops the others. Returns the number of violation events.
CREATE FUNCTION shadowgate.absorb_audit() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_rows   shadowgate.audit_inbox[];
    v_events integer := 0;
    v_txid   bigint;
    v_txn    text;
    v_from   integer;
    v_to     integer;
BEGIN
    PERFORM shadowgate.lock_audit();
    PERFORM shadowgate.carry_txn_counts(interval '10 seconds');
    BEGIN
        PERFORM shadowgate.absorb_coverage();  -- 008_coverage.sql
    EXCEPTION WHEN OTHERS THEN  -- never holds the violations back; its rows wait for the next absorb
        RAISE WARNING 'shadowgate: could not absorb the coverage inbox: %', SQLERRM;
    END;
    DELETE FROM shadowgate.commit_flush;  -- markers: their work is queued at insert (002_recording.sql)
    -- the rows of transactions that have ended (the recorder takes a transaction in pieces), whole
    -- transactions up to 10,000 rows (at most ~25 kB each: one array of them stays far below
    -- PostgreSQL's 1 GB, which the application could otherwise exceed and so stop every absorb);
    -- a transaction of more rows alone is taken 10,000 rows at a time (its counts split, none lost)
    -- (transaction_ended() looks at every session's activity: asked once per transaction, not per
    -- row, so that one open transaction's many rows do not slow the absorb of everyone else's)
    -- (MATERIALIZED: PostgreSQL would otherwise push the test below the grouping, once per row)
    WITH txns AS MATERIALIZED (
        SELECT i.app_pid, i.app_backend_start, i.xact_start, i.recorder_pid,
               array_agg(i.ctid) AS row_ids, array_agg(i.logged_at) AS logged
          FROM shadowgate.audit_inbox i
         GROUP BY i.app_pid, i.app_backend_start, i.xact_start, i.recorder_pid
    ), ended_txns AS (
        SELECT * FROM txns t
         WHERE shadowgate.transaction_ended(t.app_pid, t.app_backend_start, t.xact_start, t.recorder_pid)
    ), ended AS (
        SELECT r.row_id,
               count(*) OVER (ORDER BY t.app_pid, t.app_backend_start, t.xact_start) AS upto,
               row_number() OVER (ORDER BY t.app_pid, t.app_backend_start, t.xact_start, r.logged_at) AS rn
          FROM ended_txns t, unnest(t.row_ids, t.logged) AS r(row_id, logged_at)
    ), taken AS (
        DELETE FROM shadowgate.audit_inbox i
         WHERE i.ctid = ANY (ARRAY(SELECT e.row_id FROM ended e
                                    WHERE e.upto <= 10000
                                       OR (e.rn <= 10000 AND NOT EXISTS (SELECT 1 FROM ended f WHERE f.upto <= 10000))))
        RETURNING *)
    SELECT array_agg(taken) INTO v_rows FROM taken;
    IF v_rows IS NULL THEN
        RETURN 0;
    END IF;
    BEGIN
        RETURN shadowgate.absorb_rows(v_rows);
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'shadowgate: could not absorb the audit inbox at once (%): one transaction at a time', SQLERRM;
    END;
    -- a transaction: its session and start (the recorder's pieces of it), else its id
    v_rows := ARRAY(SELECT r FROM unnest(v_rows) AS r
                     ORDER BY coalesce(r.session_id || '@' || r.xact_start, r.txid::text));
    FOR v_txn, v_txid, v_from, v_to IN
        SELECT coalesce((v_rows[i]).session_id || '@' || (v_rows[i]).xact_start, (v_rows[i]).txid::text),
               max((v_rows[i]).txid), min(i), max(i)
          FROM generate_subscripts(v_rows, 1) AS i GROUP BY 1
    LOOP
        BEGIN
            v_events := v_events + shadowgate.absorb_rows(v_rows[v_from:v_to]);
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'shadowgate: audit of transaction % quarantined: %', v_txid, SQLERRM;
            INSERT INTO shadowgate.audit_quarantine (txid, error, inbox_row)
            SELECT v_txid, SQLERRM, to_jsonb(r) FROM unnest(v_rows[v_from:v_to]) AS r;
        END;
    END LOOP;
    RETURN v_events;
END $$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA shadowgate FROM PUBLIC;

-- Down Migration
