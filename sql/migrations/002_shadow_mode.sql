-- Up Migration
-- Shadow mode: the functions the rollout policies call, set_project_context(), protect() and grant_app().
--
-- How a policy decides:
--   row owner in read_scope() / = write_scope()        -> allowed, nothing else evaluated
--   otherwise denied(deny_mode(kind), ...)              -> by the mode of the current statement:
--     'A' allow (pending phase, super reads)  'E' enforce: deny   'S' shadow: note + allow
--     'N' no project context / 'U' unknown project: by the phase of the row owner.
-- read_scope(), write_scope() and deny_mode() are STABLE and wrapped in (SELECT ...), so they run
-- once per statement (initPlans) and read only the tables: nothing the application can set except
-- its declared project decides what it may see. note() and denied() are plain SQL, inlined by the
-- planner, so the per-row price of a would-be denial is a set_config() on a transaction-local
-- counter. What a transaction noted reaches the UNLOGGED audit_inbox in one row (one access of one
-- key) or three (opening row, flush marker, the rest at commit by a deferred trigger), and
-- absorb_audit() turns it into one rls_audit_log row per (transaction, table, operation, owner,
-- reason) with the exact count.

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

-- The application calls this first in every transaction. It never fails for an unknown project:
-- in shadow an unknown project is recorded, in enforcing it sees nothing.
CREATE FUNCTION shadowgate.set_project_context(p_project text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n integer;
    k text;
    ignored text;
BEGIN
    -- assignments, not PERFORM: plpgsql evaluates them without the executor (this is the hot path)
    ignored := set_config('shadowgate.project_id', coalesce(p_project, ''), true);
    SELECT seq_no INTO n FROM shadowgate.project_registry WHERE project_id = p_project;
    -- count once per transaction and project; a read-only transaction (or a hot standby) cannot
    -- call nextval() and is not counted
    IF n IS NOT NULL AND current_setting('transaction_read_only') = 'off' THEN
        k := 'shadowgate.counted_' || n;
        IF coalesce(current_setting(k, true), '') = '' THEN
            ignored := nextval(('shadowgate.txn_' || n)::regclass);
            ignored := set_config(k, '1', true);
        END IF;
    END IF;
    RETURN p_project;
END $$;

-- Owners whose rows the current project may read without a finding: itself and, for a shared
-- project, the targets of its read permissions. Called once per statement (an initPlan).
CREATE FUNCTION shadowgate.read_scope() RETURNS text[]
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p text := nullif(current_setting('shadowgate.project_id', true), '');
BEGIN
    RETURN ARRAY(
        SELECT g.project_id::text FROM shadowgate.project_registry g WHERE g.project_id = p
        UNION ALL
        SELECT r.target_project_id::text
          FROM shadowgate.project_read_permissions r
          JOIN shadowgate.project_registry g
            ON g.project_id = r.reader_project_id AND g.access_level = 'shared'
         WHERE r.reader_project_id = p);
END $$;

-- The owner the current project may write as (NULL: none).
CREATE FUNCTION shadowgate.write_scope() RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p text := nullif(current_setting('shadowgate.project_id', true), '');
BEGIN
    RETURN (SELECT g.project_id::text FROM shadowgate.project_registry g WHERE g.project_id = p);
END $$;

-- What happens to a row outside the scope, for reads (kind 'r') or writes ('w'):
-- 'A' allow (pending phase; super reads), 'S' shadow: record and allow, 'E' enforce: deny,
-- 'N' no context, 'U' unknown project (then the phase of the row owner decides).
CREATE FUNCTION shadowgate.deny_mode(kind text) RETURNS text
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    p text := nullif(current_setting('shadowgate.project_id', true), '');
    ph shadowgate.migration_phase_enum;
    lvl shadowgate.access_level_enum;
BEGIN
    IF p IS NULL THEN RETURN 'N'; END IF;
    SELECT s.migration_phase, g.access_level INTO ph, lvl
      FROM shadowgate.project_registry g
      LEFT JOIN shadowgate.rls_migration_status s ON s.project_id = g.project_id
     WHERE g.project_id = p;
    IF lvl IS NULL THEN RETURN 'U'; END IF;
    IF ph IS NULL OR ph = 'pending' THEN RETURN 'A'; END IF;
    IF kind = 'r' AND lvl = 'super' THEN RETURN 'A'; END IF;
    IF ph = 'shadow' THEN RETURN 'S'; END IF;
    RETURN 'E';
END $$;

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

-- No context or an unknown project: the phase of the row owner decides.
CREATE FUNCTION shadowgate.unscoped(rc text, tid integer, op text, owner text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ph shadowgate.migration_phase_enum;
BEGIN
    SELECT migration_phase INTO ph FROM shadowgate.rls_migration_status WHERE project_id = owner;
    IF ph IS NULL OR ph = 'pending' THEN RETURN true; END IF;
    IF ph = 'shadow' THEN RETURN shadowgate.note(tid, op, rc, owner); END IF;
    RETURN false;
END $$;

CREATE FUNCTION shadowgate.denied(mode text, tid integer, op text, owner text) RETURNS boolean
LANGUAGE sql VOLATILE
AS $$
    SELECT CASE mode
        WHEN 'A' THEN true
        WHEN 'E' THEN false
        WHEN 'S' THEN shadowgate.note(tid, op, 'x', owner)
        WHEN 'N' THEN shadowgate.unscoped('n', tid, op, owner)
        ELSE shadowgate.unscoped('u', tid, op, owner)
    END
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

-- Puts the rollout policies on an application table.
CREATE FUNCTION shadowgate.protect(tbl regclass, col name DEFAULT 'project_id') RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tid integer;
    c text := quote_ident(col) || '::text';
    pol record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute
                    WHERE attrelid = tbl AND attname = col AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'table % has no column %', tbl, col USING ERRCODE = 'undefined_column';
    END IF;
    INSERT INTO shadowgate.protected_tables (table_oid, table_name, column_name)
    VALUES (tbl, tbl::text, col)
    ON CONFLICT (table_oid) DO UPDATE SET column_name = EXCLUDED.column_name, table_name = EXCLUDED.table_name
    RETURNING id INTO tid;
    FOR pol IN SELECT policyname FROM pg_policies
                WHERE format('%I.%I', schemaname, tablename)::regclass = tbl
                  AND policyname LIKE 'shadowgate\_%' LOOP
        EXECUTE format('DROP POLICY %I ON %s', pol.policyname, tbl);
    END LOOP;
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    EXECUTE format($p$CREATE POLICY shadowgate_select ON %1$s FOR SELECT
        USING (%2$s = ANY ((SELECT shadowgate.read_scope())::text[])
               OR shadowgate.denied((SELECT shadowgate.deny_mode('r')), %3$s, 'r', %2$s))$p$, tbl, c, tid);
    EXECUTE format($p$CREATE POLICY shadowgate_insert ON %1$s FOR INSERT
        WITH CHECK (%2$s = (SELECT shadowgate.write_scope())
               OR shadowgate.denied((SELECT shadowgate.deny_mode('w')), %3$s, 'i', %2$s))$p$, tbl, c, tid);
    EXECUTE format($p$CREATE POLICY shadowgate_update ON %1$s FOR UPDATE
        USING (%2$s = (SELECT shadowgate.write_scope())
               OR shadowgate.denied((SELECT shadowgate.deny_mode('w')), %3$s, 'u', %2$s))
        WITH CHECK (%2$s = (SELECT shadowgate.write_scope())
               OR shadowgate.denied((SELECT shadowgate.deny_mode('w')), %3$s, 'w', %2$s))$p$, tbl, c, tid);
    EXECUTE format($p$CREATE POLICY shadowgate_delete ON %1$s FOR DELETE
        USING (%2$s = (SELECT shadowgate.write_scope())
               OR shadowgate.denied((SELECT shadowgate.deny_mode('w')), %3$s, 'd', %2$s))$p$, tbl, c, tid);
    RETURN tid;
END $$;

-- Gives an application role what it needs: the schema, the policy functions, DML on protected
-- tables and their sequences. Refuses a role that would bypass the policies.
CREATE FUNCTION shadowgate.grant_app(role_name name) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
    t record;
    s record;
BEGIN
    SELECT rolsuper, rolbypassrls INTO r FROM pg_roles WHERE rolname = role_name;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'role "%" does not exist', role_name USING ERRCODE = 'undefined_object';
    END IF;
    IF r.rolsuper OR r.rolbypassrls THEN
        RAISE EXCEPTION 'role "%" bypasses row level security (superuser or BYPASSRLS)', role_name
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    FOR t IN SELECT table_oid::regclass AS tbl, c.relowner FROM shadowgate.protected_tables p
               JOIN pg_class c ON c.oid = p.table_oid LOOP
        IF pg_has_role(role_name, t.relowner, 'USAGE') THEN
            RAISE EXCEPTION 'role "%" owns protected table % and could disable its policies', role_name, t.tbl
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %s TO %I', t.tbl, role_name);
        FOR s IN SELECT d.objid::regclass AS seq FROM pg_depend d
                  WHERE d.refobjid = t.tbl AND d.classid = 'pg_class'::regclass
                    AND d.deptype IN ('a', 'i')
                    AND (SELECT relkind FROM pg_class WHERE oid = d.objid) = 'S' LOOP
            EXECUTE format('GRANT USAGE ON SEQUENCE %s TO %I', s.seq, role_name);
        END LOOP;
    END LOOP;
    EXECUTE format('GRANT USAGE ON SCHEMA shadowgate TO %I', role_name);
    EXECUTE format('GRANT EXECUTE ON FUNCTION shadowgate.set_project_context(text), shadowgate.read_scope(),
        shadowgate.write_scope(), shadowgate.deny_mode(text), shadowgate.memo_key(integer, text, text, text),
        shadowgate.open_record(text), shadowgate.schedule_flush(), shadowgate.more_noted(), shadowgate.first_denial(integer, text, text, text),
        shadowgate.note(integer, text, text, text),
        shadowgate.unscoped(text, integer, text, text), shadowgate.denied(text, integer, text, text) TO %I', role_name);
END $$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA shadowgate FROM PUBLIC;

-- Down Migration
