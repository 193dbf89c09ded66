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
