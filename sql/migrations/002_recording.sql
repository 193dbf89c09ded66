-- Up Migration
-- Recording: transaction counters, the per-transaction memo of would-be denials, the UNLOGGED audit
-- inbox and absorb_audit(), which turns the inbox into rls_audit_log rows and fingerprints.
-- (Runs before 003_policies.sql: the policy functions call these.)

-- Transaction counter per project: an UNLOGGED sequence, created with the project. nextval() on it
-- writes no WAL, so counting keeps a read-only transaction from having to flush WAL at commit (a
-- logged sequence writes WAL every 32 calls, and that commit must then wait for the disk).
-- PostgreSQL empties unlogged relations after a crash (not after a clean restart), so the count is
-- carried into txn_counts (logged) by carry_txn_counts(), which absorb_audit() calls at most every
-- 10 s; the UNLOGGED txn_counter_alive row tells whether a crash happened since. A crash loses at
-- most the transactions counted since the last carry: the count can fall short, never run ahead.
CREATE TABLE shadowgate.txn_counts (
    seq_no  integer PRIMARY KEY,
    carried bigint NOT NULL DEFAULT 0,  -- transactions counted up to the last carry
    seen    bigint NOT NULL DEFAULT 0   -- the sequence's value at the last carry
);
CREATE UNLOGGED TABLE shadowgate.txn_counter_alive (carried_at timestamptz NOT NULL);

CREATE FUNCTION shadowgate.txn_sequence(seq_no integer) RETURNS regclass
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT format('shadowgate.%I', 'txn_' || seq_no)::regclass $$;

CREATE FUNCTION shadowgate.txn_count(p_seq_no integer) RETURNS bigint
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(c.carried, 0)
           + coalesce(pg_sequence_last_value(shadowgate.txn_sequence(p_seq_no)), 0)
           - CASE WHEN EXISTS (SELECT 1 FROM shadowgate.txn_counter_alive) THEN coalesce(c.seen, 0) ELSE 0 END
      FROM (SELECT) AS one
      LEFT JOIN shadowgate.txn_counts c ON c.seq_no = p_seq_no
$$;

-- Moves the sequences' counts into txn_counts. Callers run one at a time (absorb_audit's lock).
CREATE FUNCTION shadowgate.carry_txn_counts(p_every interval) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    alive boolean;
BEGIN
    SELECT true INTO alive FROM shadowgate.txn_counter_alive;
    IF alive AND EXISTS (SELECT 1 FROM shadowgate.txn_counter_alive WHERE carried_at > now() - p_every) THEN
        RETURN;
    END IF;
    UPDATE shadowgate.txn_counts c
       SET carried = c.carried + v.n - CASE WHEN alive THEN c.seen ELSE 0 END, seen = v.n
      FROM (SELECT seq_no, coalesce(pg_sequence_last_value(shadowgate.txn_sequence(seq_no)), 0) AS n
              FROM shadowgate.project_registry) v
     WHERE v.seq_no = c.seq_no;
    DELETE FROM shadowgate.txn_counter_alive;
    INSERT INTO shadowgate.txn_counter_alive VALUES (now());
END $$;

CREATE FUNCTION shadowgate.on_project_registered() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('CREATE UNLOGGED SEQUENCE shadowgate.%I', 'txn_' || NEW.seq_no);
    INSERT INTO shadowgate.txn_counts (seq_no) VALUES (NEW.seq_no);
    INSERT INTO shadowgate.rls_migration_status (project_id) VALUES (NEW.project_id);
    RETURN NULL;
END $$;
CREATE TRIGGER project_registered AFTER INSERT ON shadowgate.project_registry
    FOR EACH ROW EXECUTE FUNCTION shadowgate.on_project_registered();

CREATE FUNCTION shadowgate.on_project_removed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('DROP SEQUENCE IF EXISTS shadowgate.%I', 'txn_' || OLD.seq_no);
    DELETE FROM shadowgate.txn_counts WHERE seq_no = OLD.seq_no;
    RETURN NULL;
END $$;
CREATE TRIGGER project_removed AFTER DELETE ON shadowgate.project_registry
    FOR EACH ROW EXECUTE FUNCTION shadowgate.on_project_removed();

-- Name of the transaction-local counter of one audit key: table, operation code, reason code
-- ('x' cross-tenant, 'n' no context, 'u' unknown project) and owner. GUC names are
-- case-insensitive, hence lower-case codes only. STABLE plain SQL so that it is inlined.
CREATE FUNCTION shadowgate.memo_key(tid integer, op text, rc text, owner text) RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT 'shadowgate.n' || tid || op || rc || '_' || coalesce('x' || encode(convert_to(owner, 'UTF8'), 'hex'), 'z') $$;

-- The first would-be denial of a transaction writes its inbox row at once: that key, counted once.
-- Nothing else is written unless the transaction notes more (see schedule_flush()).
CREATE FUNCTION shadowgate.open_record(first_key text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    sid text := current_setting('shadowgate.session_id', true);
BEGIN
    IF current_setting('transaction_read_only') = 'on' THEN
        -- read-only transaction or hot standby: nothing can be written; leave a trace in the server log
        RAISE LOG 'shadowgate: would-be denial in a read-only transaction, project=%: %',
            current_setting('shadowgate.project_id', true), first_key;
        RETURN true;
    END IF;
    IF coalesce(sid, '') = '' THEN
        sid := pg_backend_pid() || '.' || (SELECT extract(epoch FROM a.backend_start)::bigint
                                            FROM pg_stat_get_activity(pg_backend_pid()) a);
        PERFORM set_config('shadowgate.session_id', sid, false);
    END IF;
    BEGIN
        INSERT INTO shadowgate.audit_inbox (txid, context_project_id, user_name, session_id, keys, counts)
        VALUES (txid_current(), nullif(current_setting('shadowgate.project_id', true), ''), session_user, sid,
                ARRAY[first_key], '{1}');
        -- a wake-up for the producer, at most one per session every 50 ms: a NOTIFY serialises
        -- commits on a global lock (one per transaction cost w1 half its throughput); the producer
        -- drains again shortly after each wake-up, so a skipped NOTIFY does not leave rows waiting
        IF to_char(clock_timestamp(), 'YYYYMMDDHH24MISSMS') >= coalesce(current_setting('shadowgate.notify_after', true), '') THEN
            PERFORM pg_notify('shadowgate', 'audit');
            PERFORM set_config('shadowgate.notify_after',
                               to_char(clock_timestamp() + interval '50 milliseconds', 'YYYYMMDDHH24MISSMS'), false);
        END IF;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'shadowgate: could not record a would-be denial: %', SQLERRM;
    END;
    RETURN true;
END $$;

-- The transaction noted more than its opening row holds (a second access, another key): a marker
-- row whose deferred trigger writes the rest at commit. Once per transaction.
CREATE FUNCTION shadowgate.schedule_flush() RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM set_config('shadowgate.flush_scheduled', '1', true);
    IF current_setting('transaction_read_only') = 'on' THEN
        RAISE LOG 'shadowgate: would-be denials in a read-only transaction, project=%: %',
            current_setting('shadowgate.project_id', true), current_setting('shadowgate.pending', true);
        RETURN true;
    END IF;
    BEGIN
        INSERT INTO shadowgate.audit_inbox (txid, context_project_id, user_name, session_id, keys, counts, flush)
        VALUES (txid_current(), nullif(current_setting('shadowgate.project_id', true), ''), session_user,
                current_setting('shadowgate.session_id', true), '{}', '{}', true);
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'shadowgate: could not schedule the audit flush: %', SQLERRM;
    END;
    RETURN true;
END $$;

CREATE FUNCTION shadowgate.more_noted() RETURNS boolean
LANGUAGE sql VOLATILE
AS $$
    SELECT CASE current_setting('shadowgate.flush_scheduled', true) WHEN '1' THEN true
           ELSE shadowgate.schedule_flush() END
$$;

-- The first would-be denial of a key in a transaction: add the key to the pending list.
CREATE FUNCTION shadowgate.first_denial(tid integer, op text, rc text, owner text) RETURNS boolean
LANGUAGE sql VOLATILE
AS $$
    SELECT CASE set_config('shadowgate.pending',
                           coalesce(current_setting('shadowgate.pending', true), '')
                             || shadowgate.memo_key(tid, op, rc, owner) || ',',
                           true)
           WHEN shadowgate.memo_key(tid, op, rc, owner) || ',' THEN shadowgate.open_record(shadowgate.memo_key(tid, op, rc, owner))
           ELSE shadowgate.more_noted() END
$$;

-- Counts one denied row access under its key. Inlined into the policy: no function call per row.
CREATE FUNCTION shadowgate.note(tid integer, op text, rc text, owner text) RETURNS boolean
LANGUAGE sql VOLATILE
AS $$
    SELECT CASE set_config(shadowgate.memo_key(tid, op, rc, owner),
                           (coalesce(nullif(current_setting(shadowgate.memo_key(tid, op, rc, owner), true), ''), '0')::bigint + 1)::text,
                           true)
           WHEN '1' THEN shadowgate.first_denial(tid, op, rc, owner)
           WHEN '2' THEN shadowgate.more_noted()
           ELSE true END
$$;


-- The inbox: what transactions' policies noted, as rows of keys and counts that add up per
-- (transaction, key), read and emptied by absorb_audit(), which turns each key of a transaction
-- into one rls_audit_log row. The first denial of a transaction writes its opening row (that key,
-- once); a transaction that notes more (a second access, another key) also writes a marker row
-- (flush), whose deferred trigger writes the rest at commit. UNLOGGED: the rows cost the
-- application's commit no WAL flush (a logged row makes a read-only transaction wait for the disk:
-- shadow/enforcing 0.36 instead of 0.8 on bench w1). The price: a crash of PostgreSQL (not a clean
-- restart) empties it, losing what had not been absorbed yet; `shadowgate run` absorbs on every
-- wake-up and at least every second.
CREATE UNLOGGED TABLE shadowgate.audit_inbox (
    txid               bigint NOT NULL,
    logged_at          timestamptz NOT NULL DEFAULT now(),
    context_project_id text,
    user_name          text,
    session_id         text,
    keys               text[] NOT NULL,
    counts             bigint[] NOT NULL,
    flush              boolean NOT NULL DEFAULT false
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);  -- emptied all day long

-- At commit (or SET CONSTRAINTS ... IMMEDIATE): every count beyond the opening row's. Never raises:
-- nothing outside the exception block casts a setting the application could have set.
CREATE FUNCTION shadowgate.flush_denials() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    keys text[] := string_to_array(rtrim(coalesce(current_setting('shadowgate.pending', true), ''), ','), ',');
BEGIN
    BEGIN
        INSERT INTO shadowgate.audit_inbox (txid, logged_at, context_project_id, user_name, session_id, keys, counts)
        SELECT NEW.txid, NEW.logged_at, NEW.context_project_id, NEW.user_name, NEW.session_id, keys,
               ARRAY(SELECT coalesce(nullif(current_setting(k, true), ''), '0')::bigint - CASE WHEN k = keys[1] THEN 1 ELSE 0 END
                       FROM unnest(keys) AS k)
         WHERE cardinality(keys) > 0;
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'shadowgate: could not record would-be denials: %', SQLERRM;
    END;
    -- start afresh: after an early flush (SET CONSTRAINTS ... IMMEDIATE) the next denial opens a new row
    PERFORM set_config(k, '', true) FROM unnest(keys) AS k;
    PERFORM set_config('shadowgate.pending', '', true);
    PERFORM set_config('shadowgate.flush_scheduled', '', true);
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER audit_flush_at_commit AFTER INSERT ON shadowgate.audit_inbox
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.flush)
    EXECUTE FUNCTION shadowgate.flush_denials();


-- The lock that orders the readers and writers of the violation window: absorb_audit() (folds rows
-- into the window) and everything that moves a shadow clock (recounts the window). Without it, a
-- clock reset could recount while an absorb is folding and overwrite rows that belong to the new
-- window. Taken first, before any row lock, so that the lock order is the same everywhere.
CREATE FUNCTION shadowgate.lock_audit() RETURNS void
LANGUAGE sql
AS $$ SELECT pg_advisory_xact_lock(hashtext('shadowgate.absorb_audit')) $$;

-- The parts of a key written by memo_key() (this file): table id, operation, reason, owner code; NULL
-- for anything else.
CREATE FUNCTION shadowgate.parse_key(k text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT
AS $$ SELECT regexp_match(k, '^shadowgate\.n(\d{1,9})([a-z])([a-z])_(z|x(?:[0-9a-f]{2})*)$') $$;

-- The row owner a key names (hex of its UTF-8 bytes after 'x'; 'z' for NULL). Raises on bytes that
-- are not UTF-8: only a key the application forged has those (see absorb_audit()).
CREATE FUNCTION shadowgate.key_owner(code text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT
AS $$ SELECT CASE WHEN code = 'z' THEN NULL ELSE convert_from(decode(substr(code, 2), 'hex'), 'UTF8') END $$;

-- Whether a key's owner can be decoded (see key_owner()).
CREATE FUNCTION shadowgate.key_is_readable(k text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM shadowgate.key_owner((shadowgate.parse_key(k))[4]);
    RETURN true;
EXCEPTION WHEN OTHERS THEN
    RETURN false;
END $$;

-- Empties the audit inbox: each noted key becomes an rls_audit_log row (stamped with the transaction
-- that made the access) and is folded into violation_fingerprints and violation_daily in the same
-- statement; one 'violation' event per fingerprint touched (returns how many). A key that the
-- access itself could not have produced (the application can set the settings the policies use)
-- is dropped: the reason must match the context (none, unregistered, or a project that may not
-- read/write that owner), and the owner (no context, unknown project) or the context
-- (cross-tenant) must be past 'pending'. Values longer than the seed's columns are cut to fit.
CREATE FUNCTION shadowgate.absorb_inbox() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$  -- plpgsql: the plan is cached
DECLARE
    v_events integer;
BEGIN
    WITH moved AS (
        DELETE FROM shadowgate.audit_inbox RETURNING *
    ), noted AS (
        SELECT t.*, x[1]::integer AS tid, x[2] AS op, x[3] AS rc,
               shadowgate.key_owner(x[4]) AS owner
          FROM (SELECT m.txid, m.logged_at, m.context_project_id AS ctx, m.user_name, m.session_id, k.key,
                       sum(k.cnt) AS cnt
                  FROM moved m, unnest(m.keys, m.counts) AS k(key, cnt)
                 GROUP BY 1, 2, 3, 4, 5, 6) t,
               shadowgate.parse_key(t.key) AS x
         WHERE t.cnt > 0
    ), ins AS (
        INSERT INTO shadowgate.rls_audit_log
            (logged_at, project_id, table_name, operation, row_project_id, would_be_denied, denied_reason,
             user_name, session_id, context_project_id, row_count, txid)
        SELECT n.logged_at, CASE WHEN n.rc = 'x' THEN n.ctx ELSE n.owner END, left(t.table_name, 100),
               CASE n.op WHEN 'r' THEN 'SELECT' WHEN 'i' THEN 'INSERT' WHEN 'd' THEN 'DELETE' ELSE 'UPDATE' END,
               left(n.owner, 50), true,
               CASE n.rc WHEN 'x' THEN CASE WHEN n.op = 'r' THEN 'cross-tenant read' ELSE 'cross-tenant write' END
                         WHEN 'n' THEN 'no project context' ELSE 'unknown project' END
                 || CASE WHEN n.op = 'w' THEN ' (new row)' ELSE '' END,
               left(n.user_name, 100), left(n.session_id, 100), left(n.ctx, 50), n.cnt, n.txid
          FROM noted n
          JOIN shadowgate.protected_tables t ON t.id = n.tid
          LEFT JOIN shadowgate.project_registry g ON g.project_id = n.ctx
          LEFT JOIN shadowgate.rls_migration_status cs ON cs.project_id = n.ctx
          LEFT JOIN shadowgate.rls_migration_status os ON os.project_id = n.owner
         WHERE CASE n.rc
                 WHEN 'x' THEN cs.migration_phase <> 'pending'
                      AND n.owner IS DISTINCT FROM n.ctx
                      AND (n.op <> 'r' OR (g.access_level <> 'super' AND NOT EXISTS (
                             SELECT 1 FROM shadowgate.project_read_permissions r
                              WHERE g.access_level = 'shared' AND r.reader_project_id = n.ctx
                                AND r.target_project_id = n.owner)))
                 WHEN 'n' THEN n.ctx IS NULL AND os.migration_phase <> 'pending'
                 WHEN 'u' THEN n.ctx IS NOT NULL AND g.project_id IS NULL AND os.migration_phase <> 'pending'
                 ELSE false END
        RETURNING *
    ), batch AS (
        SELECT a.*, s.shadow_started_at, s.shadow_started_snapshot,
               md5(concat_ws('|', a.project_id, a.table_name, a.operation,
                             coalesce(a.row_project_id, '<null>'), a.denied_reason)) AS fp
          FROM ins a
          LEFT JOIN shadowgate.rls_migration_status s ON s.project_id = a.project_id
    ), daily AS (
        INSERT INTO shadowgate.violation_daily AS d (project_id, day, occurrences)
        SELECT project_id, (logged_at AT TIME ZONE 'UTC')::date, sum(row_count)
          FROM batch GROUP BY 1, 2
        ON CONFLICT (project_id, day) DO UPDATE SET occurrences = d.occurrences + EXCLUDED.occurrences
    ), agg AS (
        SELECT fp, project_id, table_name, operation, row_project_id, denied_reason,
               sum(row_count) AS occ, count(*) AS audit_n, min(logged_at) AS first, max(logged_at) AS last,
               coalesce(sum(row_count) FILTER (WHERE shadow_started_at IS NOT NULL
                                                     AND NOT txid_visible_in_snapshot(txid, shadow_started_snapshot)), 0) AS win
          FROM batch GROUP BY fp, project_id, table_name, operation, row_project_id, denied_reason
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

-- One caller at a time: absorb_inbox(), and the transaction counters carried (at most every 10 s).
-- A key that cannot even be read (forged: not UTF-8) must not stall the pipeline: if the inbox
-- cannot be absorbed, the rows holding such keys are dropped with a warning and it is tried again.
CREATE FUNCTION shadowgate.absorb_audit() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_dropped integer;
BEGIN
    PERFORM shadowgate.lock_audit();
    PERFORM shadowgate.carry_txn_counts(interval '10 seconds');
    BEGIN
        RETURN shadowgate.absorb_inbox();
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'shadowgate: could not absorb the audit inbox (%), dropping unreadable keys', SQLERRM;
    END;
    DELETE FROM shadowgate.audit_inbox i
     WHERE EXISTS (SELECT 1 FROM unnest(i.keys) AS k WHERE NOT shadowgate.key_is_readable(k));
    GET DIAGNOSTICS v_dropped = ROW_COUNT;
    RAISE WARNING 'shadowgate: dropped % audit inbox row(s) with unreadable keys', v_dropped;
    RETURN shadowgate.absorb_inbox();
END $$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA shadowgate FROM PUBLIC;

-- Down Migration
