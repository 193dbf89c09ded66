-- Up Migration
-- Reach: protection of whole tables (partitions old and new), refusals, drift detection and the
-- doctor's list of routes around the policies.
--
-- Needs a SUPERUSER: event triggers can only be created by one, so `shadowgate db migrate` runs
-- as the operator (e.g. postgres), never as the application role.
--
-- Drift. The facts that decide who can reach protected rows (RLS flags, owners, privileges and
-- policies of the protected tables; the roles that hold those privileges, their memberships and
-- SUPERUSER/BYPASSRLS/LOGIN; every superuser) are kept as items in drift_state. drift_sync()
-- compares the catalog with them in one statement, saves what changed and resets the shadow clock
-- of every project in shadow, in the transaction that runs it:
--   - an event trigger runs it after GRANT/REVOKE, CREATE/ALTER/DROP POLICY, ALTER TABLE (RLS
--     flags, owner, partitions), DROP TABLE/SCHEMA/OWNED: same transaction as the change (on PG 15
--     a GRANT event does not name its table, hence the comparison rather than the event's objects);
--   - roles are cluster-wide and fire no event: the pipeline runs drift_check() periodically and
--     `migrate` runs it before any phase change.
-- DDL that shadowgate's own plpgsql functions run (policy regeneration) does not count: the
-- shadowgate_* policies it creates are saved silently. Partitions that shadowgate protects because
-- their parent is protected are saved silently too (monthly partitions must not restart clocks);
-- protecting any other table is a change (its accesses were never observed in shadow).

CREATE TABLE shadowgate.drift_state (
    item      text PRIMARY KEY,
    -- the protected table the item describes (NULL: a role or membership)
    table_oid oid,
    -- that table is a partition: dropping it is no change (old partitions are dropped routinely)
    part      boolean NOT NULL DEFAULT false,
    value     text NOT NULL
);

-- Every drift noticed, with or without a project in shadow. One row per transaction: later
-- changes of the same transaction are added to it (and to the reason of its clock resets).
CREATE TABLE shadowgate.drift_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    txid        bigint NOT NULL UNIQUE DEFAULT txid_current(),
    at          timestamptz NOT NULL,
    actor       text NOT NULL,
    changes     text[] NOT NULL,
    history_ids bigint[] NOT NULL DEFAULT '{}'
);

-- The types a tenant column may have, and whether a project id can ever equal a value of it. The
-- policies compare in the column's type through shadowgate.as_uuid()/as_bigint() (003): an id they
-- turn into NULL, or a number out of the column's range, can never match.
CREATE FUNCTION shadowgate.tenant_type(typ oid) RETURNS oid
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END FROM pg_type t WHERE t.oid = typ
$$;

CREATE FUNCTION shadowgate.tenant_type_supported(typ oid) RETURNS boolean
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT shadowgate.tenant_type(typ) IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype,
                                          'uuid'::regtype, 'int2'::regtype, 'int4'::regtype, 'int8'::regtype)
$$;

-- Why id can never match a value of the column (NULL: it can).
CREATE FUNCTION shadowgate.id_mismatch(id text, typ oid, typmod integer) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT CASE shadowgate.tenant_type(typ)
        WHEN 'uuid'::regtype THEN
            CASE WHEN shadowgate.as_uuid(id) IS NULL THEN 'not a uuid (32 hex digits, hyphens optional)' END
        WHEN 'int2'::regtype THEN
            CASE WHEN coalesce(shadowgate.as_bigint(id) NOT BETWEEN -32768 AND 32767, true)
                 THEN 'not a whole number from -32768 to 32767' END
        WHEN 'int4'::regtype THEN
            CASE WHEN coalesce(shadowgate.as_bigint(id) NOT BETWEEN -2147483648 AND 2147483647, true)
                 THEN 'not a whole number from -2147483648 to 2147483647' END
        WHEN 'int8'::regtype THEN
            CASE WHEN shadowgate.as_bigint(id) IS NULL THEN 'not a whole number of at most 18 digits' END
        WHEN 'varchar'::regtype THEN
            CASE WHEN typmod > 4 AND length(id) > typmod - 4 THEN format('longer than %s characters', typmod - 4) END
        WHEN 'bpchar'::regtype THEN
            CASE WHEN typmod > 4 AND length(id) > typmod - 4 THEN format('longer than %s characters', typmod - 4) END
    END
$$;

-- A registered project whose id no protected column could ever hold is refused (project add).
CREATE FUNCTION shadowgate.check_project_id() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    m record;
BEGIN
    SELECT p.table_oid::regclass AS tbl, p.column_name, format_type(a.atttypid, a.atttypmod) AS typ,
           shadowgate.id_mismatch(NEW.project_id, a.atttypid, a.atttypmod) AS why
      INTO m
      FROM shadowgate.protected_tables p
      JOIN pg_attribute a ON a.attrelid = p.table_oid AND a.attname = p.column_name
     WHERE shadowgate.id_mismatch(NEW.project_id, a.atttypid, a.atttypmod) IS NOT NULL
     ORDER BY p.id LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'project id "%" can never match %.% (%): %', NEW.project_id, m.tbl, m.column_name, m.typ, m.why
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER check_project_id BEFORE INSERT OR UPDATE OF project_id ON shadowgate.project_registry
    FOR EACH ROW EXECUTE FUNCTION shadowgate.check_project_id();

-- Why tbl.col must not be protected (NULL: it may). Bad input, checked before anything changes.
CREATE FUNCTION shadowgate.protect_refusal(tbl regclass, col name) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    c record;
    a record;
    bad record;
    app text;
BEGIN
    SELECT k.relkind, k.relowner, n.nspname INTO c
      FROM pg_class k JOIN pg_namespace n ON n.oid = k.relnamespace WHERE k.oid = tbl;
    IF c.nspname = 'shadowgate' THEN
        RETURN format('%s is one of shadowgate''s own tables', tbl);
    END IF;
    IF c.nspname IN ('pg_catalog', 'information_schema') OR c.nspname LIKE 'pg\_toast%' OR c.nspname LIKE 'pg\_temp%' THEN
        RETURN format('%s is in the system schema %s', tbl, c.nspname);
    END IF;
    IF c.relkind IN ('v', 'm') THEN
        RETURN format('%s is a %s: protect the tables it reads (and see shadowgate doctor)', tbl,
                      CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized view' END);
    END IF;
    IF c.relkind NOT IN ('r', 'p') THEN
        RETURN format('%s is not a table', tbl);
    END IF;
    SELECT atttypid, atttypmod INTO a FROM pg_attribute
     WHERE attrelid = tbl AND attname = col AND attnum > 0 AND NOT attisdropped;
    IF NOT FOUND THEN
        RETURN format('table %s has no column %s', tbl, col);
    END IF;
    IF NOT shadowgate.tenant_type_supported(a.atttypid) THEN
        RETURN format('column %s of %s is of type %s: the tenant column must be text, varchar, char, uuid, smallint, integer or bigint',
                      col, tbl, format_type(a.atttypid, a.atttypmod));
    END IF;
    SELECT g.project_id, shadowgate.id_mismatch(g.project_id, a.atttypid, a.atttypmod) AS why INTO bad
      FROM shadowgate.project_registry g
     WHERE shadowgate.id_mismatch(g.project_id, a.atttypid, a.atttypmod) IS NOT NULL
     ORDER BY g.project_id LIMIT 1;
    IF FOUND THEN
        RETURN format('project id "%s" can never match %s.%s (%s): %s', bad.project_id, tbl, col,
                      format_type(a.atttypid, a.atttypmod), bad.why);
    END IF;
    -- an application role (one that may call set_project_context) owning the table could switch the policies off
    SELECT pg_get_userbyid(x.grantee) INTO app
      FROM pg_proc f, aclexplode(f.proacl) x
     WHERE f.oid = 'shadowgate.set_project_context(text)'::regprocedure AND x.grantee NOT IN (0, f.proowner)
       AND pg_has_role(x.grantee, c.relowner, 'USAGE')
     LIMIT 1;
    IF FOUND THEN
        RETURN format('%s is owned by %s, which the application role %s is (a member of): it could switch the policies off',
                      tbl, pg_get_userbyid(c.relowner), app);
    END IF;
    RETURN NULL;
END $$;

-- Protects every partition (at any depth) of a protected table that is not protected yet, with
-- its parent's column. Returns how many.
CREATE FUNCTION shadowgate.protect_partitions() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
    n integer := 0;
    more boolean := true;
BEGIN
    WHILE more LOOP
        more := false;
        FOR r IN SELECT i.inhrelid::regclass AS part, p.column_name
                   FROM pg_inherits i
                   JOIN shadowgate.protected_tables p ON p.table_oid = i.inhparent
                   JOIN pg_class c ON c.oid = i.inhrelid
                  WHERE c.relispartition
                    AND NOT EXISTS (SELECT 1 FROM shadowgate.protected_tables q WHERE q.table_oid = i.inhrelid)
                  ORDER BY i.inhrelid LOOP
            PERFORM shadowgate.protect(r.part, r.column_name);
            n := n + 1;
            more := true;
        END LOOP;
    END LOOP;
    RETURN n;
END $$;

-- The entry point of `shadowgate protect`: refuses what must not be protected (one line, nothing
-- changed), then protects the table and all its partitions. Returns how many tables.
CREATE FUNCTION shadowgate.protect_table(tbl regclass, col name DEFAULT 'project_id') RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    why text := shadowgate.protect_refusal(tbl, col);
BEGIN
    IF why IS NOT NULL THEN
        RAISE EXCEPTION '%', why USING ERRCODE = CASE WHEN why LIKE 'table % has no column %' THEN 'undefined_column'
                                                      ELSE 'invalid_parameter_value' END;
    END IF;
    PERFORM shadowgate.protect(tbl, col);
    RETURN 1 + shadowgate.protect_partitions();
END $$;

-- The entry point of `shadowgate grant`: grant_app() (DML on protected tables, their own
-- sequences, the policy functions; refuses roles that bypass RLS or own a table) plus USAGE on the
-- schemas of the protected tables and on sequences their column defaults call.
CREATE FUNCTION shadowgate.grant_access(role_name name) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record;
BEGIN
    PERFORM shadowgate.grant_app(role_name);
    FOR r IN SELECT DISTINCT c.relnamespace::regnamespace AS nsp
               FROM shadowgate.protected_tables p JOIN pg_class c ON c.oid = p.table_oid LOOP
        EXECUTE format('GRANT USAGE ON SCHEMA %s TO %I', r.nsp, role_name);
    END LOOP;
    FOR r IN SELECT DISTINCT d.refobjid::regclass AS seq
               FROM shadowgate.protected_tables p
               JOIN pg_attrdef ad ON ad.adrelid = p.table_oid
               JOIN pg_depend d ON d.classid = 'pg_attrdef'::regclass AND d.objid = ad.oid
                               AND d.refclassid = 'pg_class'::regclass
               JOIN pg_class s ON s.oid = d.refobjid AND s.relkind = 'S' LOOP
        EXECUTE format('GRANT USAGE ON SEQUENCE %s TO %I', r.seq, role_name);
    END LOOP;
END $$;

-- The policies of the protected tables, one item each (what a policy says, as a digest).
CREATE FUNCTION shadowgate.drift_policy_items() RETURNS TABLE (item text, table_oid oid, part boolean, value text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    SELECT format('policy %I on %s', pol.polname, c.oid::regclass), c.oid, c.relispartition,
           md5(concat_ws('|', pol.polcmd, pol.polpermissive, pol.polroles::text,
                         pg_get_expr(pol.polqual, pol.polrelid), pg_get_expr(pol.polwithcheck, pol.polrelid)))
      FROM shadowgate.protected_tables p
      JOIN pg_class c ON c.oid = p.table_oid
      JOIN pg_policy pol ON pol.polrelid = c.oid
$$;

-- Saves shadowgate's own policies as they are now: what its functions regenerate (on every phase,
-- project or permission change) is no drift, and this is cheaper than a whole comparison.
CREATE FUNCTION shadowgate.drift_accept_own_policies() RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    WITH cur AS (
        SELECT * FROM shadowgate.drift_policy_items() WHERE item LIKE 'policy shadowgate\_% on %'
    ), up AS (
        INSERT INTO shadowgate.drift_state (item, table_oid, part, value)
        SELECT item, table_oid, part, value FROM cur ORDER BY item
        ON CONFLICT (item) DO UPDATE SET value = EXCLUDED.value, table_oid = EXCLUDED.table_oid, part = EXCLUDED.part
        WHERE drift_state.value IS DISTINCT FROM EXCLUDED.value
    )
    DELETE FROM shadowgate.drift_state s
     WHERE s.item LIKE 'policy shadowgate\_% on %' AND NOT EXISTS (SELECT 1 FROM cur WHERE cur.item = s.item)
$$;

-- The catalog facts that decide who can reach protected rows, one item each (see the header).
-- Plain catalog reads (no has_*_privilege()): a role dropped meanwhile by another session cannot
-- make it fail.
CREATE FUNCTION shadowgate.drift_entries() RETURNS TABLE (item text, table_oid oid, part boolean, value text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH RECURSIVE t AS (
        SELECT c.oid, c.oid::regclass::text AS name, c.relowner, c.relacl, c.relrowsecurity, c.relforcerowsecurity, c.relispartition
          FROM shadowgate.protected_tables p JOIN pg_class c ON c.oid = p.table_oid
    ), acl AS (
        SELECT t.oid, t.name, t.relispartition, a.grantee,
               string_agg(a.privilege_type || CASE WHEN a.is_grantable THEN '*' ELSE '' END, ',' ORDER BY a.privilege_type) AS privs
          FROM t, aclexplode(coalesce(t.relacl, acldefault('r', t.relowner))) a
         GROUP BY t.oid, t.name, t.relispartition, a.grantee
    ), reach(oid) AS (
        SELECT grantee FROM acl WHERE grantee <> 0
        UNION SELECT relowner FROM t
        UNION SELECT oid FROM pg_roles WHERE rolname IN ('pg_read_all_data', 'pg_write_all_data')
        UNION SELECT m.member FROM pg_auth_members m JOIN reach r ON m.roleid = r.oid
    )
    SELECT 'rls on ' || name, oid, relispartition,
           CASE WHEN relrowsecurity THEN 'enabled' ELSE 'disabled' END
           || CASE WHEN relforcerowsecurity THEN ', forced' ELSE ', not forced' END
      FROM t
    UNION ALL
    SELECT 'owner of ' || name, oid, relispartition, pg_get_userbyid(relowner) FROM t
    UNION ALL
    SELECT format('privileges on %s for %s', name, CASE WHEN grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(grantee) END),
           oid, relispartition, privs
      FROM acl
    UNION ALL
    SELECT * FROM shadowgate.drift_policy_items()
    UNION ALL
    SELECT format('member %s of %s', pg_get_userbyid(m.member), pg_get_userbyid(m.roleid)), NULL, false,
           CASE WHEN m.admin_option THEN 'with admin option' ELSE 'member' END
      FROM pg_auth_members m WHERE m.roleid IN (SELECT oid FROM reach)
    UNION ALL
    SELECT 'role ' || r.rolname, NULL, false,
           concat_ws(' ', CASE WHEN r.rolcanlogin THEN 'login' ELSE 'nologin' END,
                     CASE WHEN r.rolsuper THEN 'superuser' END, CASE WHEN r.rolbypassrls THEN 'bypassrls' END,
                     CASE WHEN NOT r.rolinherit THEN 'noinherit' END)
      FROM pg_roles r WHERE r.rolsuper OR r.oid IN (SELECT oid FROM reach)
$$;

-- Compares the catalog with drift_state in one statement and saves the difference. Items of the
-- tables in p_silent, and (p_own) shadowgate's own policies, are saved without counting as a
-- change. Anything else resets the shadow clock of every project in shadow (once per transaction:
-- later changes are added to the reason), is logged in drift_log, and RLS switched off on a
-- protected table is also a Slack message to #devops. Returns the changes.
CREATE FUNCTION shadowgate.drift_sync(p_actor text, p_at timestamptz, p_silent oid[], p_own boolean) RETURNS text[]
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_changes text[];
    v_off text[];
    v_reason text;
    lg shadowgate.drift_log;
    p text;
    ids bigint[] := '{}';
    off text;
    nid bigint;
BEGIN
    WITH cur AS (SELECT * FROM shadowgate.drift_entries()),
    d AS (
        SELECT coalesce(c.item, s.item) AS item, coalesce(c.table_oid, s.table_oid) AS table_oid, c.part,
               s.value AS old, c.value AS new,
               coalesce(c.table_oid, s.table_oid) = ANY (p_silent)
               OR (p_own AND coalesce(c.item, s.item) LIKE 'policy shadowgate\_% on %') AS silent
          FROM cur c FULL JOIN shadowgate.drift_state s ON s.item = c.item
         WHERE c.value IS DISTINCT FROM s.value
    ), up AS (
        INSERT INTO shadowgate.drift_state (item, table_oid, part, value)
        SELECT item, table_oid, part, new FROM d WHERE new IS NOT NULL ORDER BY item
        ON CONFLICT (item) DO UPDATE SET value = EXCLUDED.value, table_oid = EXCLUDED.table_oid, part = EXCLUDED.part
    ), del AS (
        DELETE FROM shadowgate.drift_state s USING d WHERE s.item = d.item AND d.new IS NULL
    )
    SELECT coalesce(array_agg(CASE
               WHEN d.item LIKE 'policy %' THEN d.item || CASE WHEN d.old IS NULL THEN ' created'
                                                               WHEN d.new IS NULL THEN ' dropped' ELSE ' changed' END
               WHEN d.old IS NULL THEN d.item || ': ' || d.new || ' (new)'
               WHEN d.new IS NULL THEN d.item || ': ' || d.old || ' -> gone'
               ELSE d.item || ': ' || d.old || ' -> ' || d.new END ORDER BY d.item) FILTER (WHERE NOT d.silent), '{}'),
           coalesce(array_agg(substr(d.item, 8) ORDER BY d.item) FILTER (
               WHERE NOT d.silent AND d.item LIKE 'rls on %' AND d.old IS NOT NULL
                 AND (d.new LIKE 'disabled%' AND d.old LIKE 'enabled%'
                      OR d.new LIKE '%not forced' AND d.old LIKE '%, forced')), '{}')
      INTO v_changes, v_off
      FROM d;
    IF cardinality(v_changes) = 0 THEN RETURN v_changes; END IF;

    v_reason := 'catalog changed: ' || array_to_string(v_changes[1:10], '; ')
              || CASE WHEN cardinality(v_changes) > 10 THEN format(' (and %s more)', cardinality(v_changes) - 10) ELSE '' END;
    SELECT * INTO lg FROM shadowgate.drift_log WHERE txid = txid_current();
    IF FOUND THEN
        UPDATE shadowgate.drift_log SET changes = lg.changes || v_changes WHERE id = lg.id;
        UPDATE shadowgate.rls_phase_history
           SET reason = left(rls_phase_history.reason || '; ' || substr(v_reason, 18), 4000)
         WHERE id = ANY (lg.history_ids);
    ELSE
        FOR p IN SELECT project_id FROM shadowgate.rls_migration_status
                  WHERE migration_phase = 'shadow' ORDER BY project_id LOOP
            IF shadowgate.reset_shadow_clock(p, p_at, p_actor, v_reason) THEN
                ids := ids || currval(pg_get_serial_sequence('shadowgate.rls_phase_history', 'id'));
            END IF;
        END LOOP;
        INSERT INTO shadowgate.drift_log (at, actor, changes, history_ids) VALUES (p_at, p_actor, v_changes, ids);
    END IF;

    FOREACH off IN ARRAY v_off LOOP
        INSERT INTO shadowgate.notifications (dedupe_key, channel, target, subject, body)
        VALUES (format('rls-off:%s:%s', off, txid_current()), 'slack', '#devops',
                format('Row level security switched off on %s', off),
                jsonb_build_object('text', format(
                    ':rotating_light: Row level security switched off on protected table %s by %s: the rollout''s policies '
                    || 'no longer apply there (nothing is enforced or recorded). Fix: ALTER TABLE %s ENABLE ROW LEVEL SECURITY, '
                    || 'FORCE ROW LEVEL SECURITY (or shadowgate protect %s). Shadow clocks were reset.', off, p_actor, off, off)))
        ON CONFLICT (dedupe_key, channel) DO NOTHING
        RETURNING id INTO nid;
        IF nid IS NOT NULL THEN
            INSERT INTO shadowgate.events (kind, payload)
            VALUES ('notification', jsonb_build_object('notification_id', nid, 'reason', 'rls_off', 'table', off));
        END IF;
    END LOOP;
    RETURN v_changes;
END $$;

-- The periodic check (pipeline) and `migrate`'s check before a phase change.
CREATE FUNCTION shadowgate.drift_check(p_actor text, p_at timestamptz DEFAULT now()) RETURNS text[]
LANGUAGE sql SET search_path = pg_catalog, pg_temp AS $$
    SELECT shadowgate.drift_sync(p_actor, p_at, '{}', false)
$$;

-- After DDL: protect new partitions of protected tables, then compare. SECURITY DEFINER: DDL by
-- any role (a table owner's migration) must be able to record its own effects.
CREATE FUNCTION shadowgate.on_ddl_end() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    ctx text;
    nl integer;
    own boolean;
    actor text;
BEGIN
    -- the cheap exits first: this runs for the application's temporary tables too
    IF tg_tag = 'CREATE TABLE' AND NOT EXISTS (
           SELECT 1 FROM pg_event_trigger_ddl_commands() c
             JOIN pg_inherits i ON i.inhrelid = c.objid
             JOIN shadowgate.protected_tables p ON p.table_oid = i.inhparent) THEN
        RETURN; -- not a partition of a protected table
    END IF;
    IF tg_tag IN ('DROP TABLE', 'DROP SCHEMA', 'DROP OWNED') AND NOT EXISTS (
           SELECT 1 FROM shadowgate.drift_state s
            WHERE s.table_oid IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM shadowgate.protected_tables p WHERE p.table_oid = s.table_oid)) THEN
        RETURN; -- no protected table was dropped
    END IF;
    -- the call stack: below our own frame, a plpgsql function of the schema shadowgate means the DDL
    -- is shadowgate's own (the application can call none that runs SQL it chose)
    GET DIAGNOSTICS ctx = PG_CONTEXT;
    nl := position(E'\n' IN ctx);
    own := nl > 0 AND substr(ctx, nl + 1) ~ 'PL/pgSQL function shadowgate\.';
    IF own AND tg_tag IN ('CREATE POLICY', 'ALTER POLICY', 'DROP POLICY') THEN
        PERFORM shadowgate.drift_accept_own_policies();
        RETURN;
    END IF;
    -- who, as PostgreSQL tells it: the login, and the role it had SET ROLE to
    actor := session_user::text
        || CASE WHEN current_setting('role') <> 'none' THEN ' as ' || current_setting('role') ELSE '' END;
    PERFORM shadowgate.drift_sync(actor || ' (' || tg_tag || ')', now(),
        ARRAY(SELECT p.table_oid FROM shadowgate.protected_tables p
                JOIN pg_inherits i ON i.inhrelid = p.table_oid
                JOIN shadowgate.protected_tables pp ON pp.table_oid = i.inhparent
               WHERE p.protected_at = now()),
        own);
    IF NOT own AND tg_tag IN ('CREATE TABLE', 'ALTER TABLE') THEN
        PERFORM shadowgate.protect_partitions();
    END IF;
END $$;

-- A dropped protected table is no longer protected (the comparison after it notices the drop);
-- a dropped partition is forgotten silently.
CREATE FUNCTION shadowgate.on_sql_drop() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() d
                    WHERE d.classid = 'pg_class'::regclass AND NOT d.is_temporary) THEN
        RETURN; -- temporary tables are never protected
    END IF;
    DELETE FROM shadowgate.drift_state s
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND d.objid = s.table_oid AND s.part;
    DELETE FROM shadowgate.protected_tables p
     USING pg_event_trigger_dropped_objects() d
     WHERE d.classid = 'pg_class'::regclass AND d.objsubid = 0 AND d.objid = p.table_oid;
END $$;

-- Every route by which rows of protected tables can be reached without the policies or without
-- being recorded: kind, object, why, fix. Roles in p_allow and the role running it are no finding.
CREATE FUNCTION shadowgate.doctor(p_allow text[] DEFAULT '{}') RETURNS TABLE (kind text, object text, why text, fix text)
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $$
    WITH RECURSIVE t AS (
        SELECT c.oid, c.oid::regclass::text AS name, c.relowner, c.relacl, c.relrowsecurity, c.relforcerowsecurity, p.column_name
          FROM shadowgate.protected_tables p JOIN pg_class c ON c.oid = p.table_oid
    ), acl AS (
        SELECT t.oid, t.name, t.relowner, a.grantee, a.privilege_type
          FROM t, aclexplode(coalesce(t.relacl, acldefault('r', t.relowner))) a
    ), allowed AS (
        SELECT oid FROM pg_roles WHERE rolname = current_user OR rolname = ANY (p_allow)
    ), bypass AS (
        SELECT oid, rolname, rolsuper, rolcanlogin FROM pg_roles
         WHERE (rolsuper OR rolbypassrls) AND oid NOT IN (SELECT oid FROM allowed)
    ), reach(oid, via) AS (
        -- roles holding privileges on a protected table: grantees, owners and their members
        SELECT grantee, name FROM acl WHERE grantee <> 0
        UNION SELECT m.member, r.via FROM pg_auth_members m JOIN reach r ON m.roleid = r.oid
    ), views(oid, base) AS (
        SELECT rw.ev_class, t.name FROM pg_depend d
          JOIN pg_rewrite rw ON rw.oid = d.objid JOIN t ON t.oid = d.refobjid
         WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND rw.ev_class <> t.oid
        UNION SELECT rw.ev_class, v.base FROM pg_depend d
          JOIN pg_rewrite rw ON rw.oid = d.objid JOIN views v ON v.oid = d.refobjid
         WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass AND rw.ev_class <> v.oid
    ), app AS (
        SELECT x.grantee AS oid FROM pg_proc f, aclexplode(f.proacl) x
         WHERE f.oid = 'shadowgate.set_project_context(text)'::regprocedure AND x.grantee NOT IN (0, f.proowner)
    ), owner_members(owner, oid) AS (
        SELECT relowner, relowner FROM t
        UNION SELECT o.owner, m.member FROM pg_auth_members m JOIN owner_members o ON m.roleid = o.oid
    ), tenant_columns AS (
        SELECT column_name FROM t UNION SELECT 'project_id'
    )
    SELECT * FROM (
    SELECT 'view' AS kind, c.oid::regclass::text AS object,
           format('reads %s with the rights of its owner %s, who %s: no policy applies and nothing is recorded',
                  min(v.base), o.rolname, CASE WHEN o.rolsuper THEN 'is a superuser' ELSE 'has BYPASSRLS' END) AS why,
           format('ALTER VIEW %s SET (security_invoker = true)', c.oid::regclass) AS fix
      FROM views v JOIN pg_class c ON c.oid = v.oid JOIN pg_roles o ON o.oid = c.relowner
     WHERE c.relkind = 'v' AND (o.rolsuper OR o.rolbypassrls)
       AND NOT EXISTS (SELECT 1 FROM unnest(c.reloptions) x WHERE lower(x) ~ '^security_invoker=(true|on|yes|1)$')
     GROUP BY c.oid, o.rolname, o.rolsuper
    UNION ALL
    SELECT 'materialized view', c.oid::regclass::text,
           format('keeps a copy of rows of %s as its last REFRESH saw them; every reader gets them without the policies', min(v.base)),
           format('DROP MATERIALIZED VIEW %s (use a view WITH (security_invoker = true), or a protected table)', c.oid::regclass)
      FROM views v JOIN pg_class c ON c.oid = v.oid
     WHERE c.relkind = 'm'
     GROUP BY c.oid
    UNION ALL
    SELECT 'foreign key', format('%I on %s', con.conname, con.conrelid::regclass),
           format('%s of a row of %s changes rows of protected %s as their owner, outside the policies and unrecorded',
                  concat_ws(' and ',
                      CASE con.confdeltype WHEN 'c' THEN 'ON DELETE CASCADE' WHEN 'n' THEN 'ON DELETE SET NULL' WHEN 'd' THEN 'ON DELETE SET DEFAULT' END,
                      CASE con.confupdtype WHEN 'c' THEN 'ON UPDATE CASCADE' WHEN 'n' THEN 'ON UPDATE SET NULL' WHEN 'd' THEN 'ON UPDATE SET DEFAULT' END),
                  con.confrelid::regclass, con.conrelid::regclass),
           'make the action NO ACTION or RESTRICT and change the referencing rows in the application, through the policies'
      FROM pg_constraint con JOIN t ON t.oid = con.conrelid
     WHERE con.contype = 'f' AND con.conparentid = 0
       AND (con.confdeltype IN ('c', 'n', 'd') OR con.confupdtype IN ('c', 'n', 'd'))
    UNION ALL
    SELECT 'partition', c.oid::regclass::text,
           format('partition of protected %s without the policies: whoever holds privileges on it reads and writes every tenant''s rows there, unrecorded', t.name),
           format('shadowgate protect %s --column %s', t.name, t.column_name)
      FROM pg_inherits i JOIN t ON t.oid = i.inhparent JOIN pg_class c ON c.oid = i.inhrelid
     WHERE NOT EXISTS (SELECT 1 FROM shadowgate.protected_tables p WHERE p.table_oid = i.inhrelid)
    UNION ALL
    SELECT 'role', b.rolname,
           format('can log in, %s and holds privileges on %s: nothing it does is subject to the policies or recorded, yet its transactions count',
                  CASE WHEN b.rolsuper THEN 'is a superuser' ELSE 'has BYPASSRLS' END, min(r.via)),
           format('ALTER ROLE %I %s, or revoke its privileges (or list it in SHADOWGATE_DOCTOR_ALLOW_ROLES if it is a maintenance role)',
                  b.rolname, CASE WHEN b.rolsuper THEN 'NOSUPERUSER' ELSE 'NOBYPASSRLS' END)
      FROM bypass b JOIN reach r ON r.oid = b.oid
     WHERE b.rolcanlogin
     GROUP BY b.rolname, b.rolsuper
    UNION ALL
    SELECT 'session', format('pid %s (%s)', a.pid, b.rolname),
           format('connected to this database now as %s, which %s: what it reads and writes in protected tables passes the policies unrecorded',
                  b.rolname, CASE WHEN b.rolsuper THEN 'is a superuser' ELSE 'has BYPASSRLS' END),
           format('connect the application as a role without SUPERUSER/BYPASSRLS (shadowgate grant); SELECT pg_terminate_backend(%s) ends this one', a.pid)
      FROM pg_stat_activity a JOIN bypass b ON b.oid = a.usesysid
     WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
    UNION ALL
    SELECT 'function', f.oid::regprocedure::text,
           format('SECURITY DEFINER, owned by %s (%s), and its body %s: it runs outside the policies for whoever may call it',
                  o.rolname, CASE WHEN o.rolsuper THEN 'superuser' ELSE 'BYPASSRLS' END,
                  coalesce('names ' || (SELECT min(t.name) FROM t JOIN pg_class k ON k.oid = t.oid
                                         WHERE position(lower(k.relname) IN lower(f.prosrc)) > 0),
                           'runs dynamic SQL (EXECUTE)')),
           format('ALTER FUNCTION %s SECURITY INVOKER, or give it an owner the policies apply to', f.oid::regprocedure)
      FROM pg_proc f JOIN pg_roles o ON o.oid = f.proowner JOIN pg_language l ON l.oid = f.prolang
     WHERE f.prosecdef AND (o.rolsuper OR o.rolbypassrls) AND l.lanname IN ('sql', 'plpgsql')
       AND f.pronamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace, 'shadowgate'::regnamespace)
       AND NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = 'pg_proc'::regclass AND e.objid = f.oid AND e.deptype = 'e')
       AND (f.prosrc ~* '\mexecute\M'
            OR EXISTS (SELECT 1 FROM t JOIN pg_class k ON k.oid = t.oid WHERE position(lower(k.relname) IN lower(f.prosrc)) > 0))
    UNION ALL
    SELECT 'privilege', name,
           format('PUBLIC (every role) holds %s on it', string_agg(privilege_type, ', ' ORDER BY privilege_type)),
           format('REVOKE ALL ON %s FROM PUBLIC', name)
      FROM acl WHERE grantee = 0 GROUP BY name
    UNION ALL
    SELECT 'privilege', acl.name,
           format('%s may TRUNCATE it: TRUNCATE empties it for every tenant, outside the policies and unrecorded', pg_get_userbyid(grantee)),
           format('REVOKE TRUNCATE ON %s FROM %I', acl.name, pg_get_userbyid(grantee))
      FROM acl WHERE privilege_type = 'TRUNCATE' AND grantee NOT IN (0, relowner) AND grantee NOT IN (SELECT oid FROM allowed)
    UNION ALL
    SELECT 'table', name,
           CASE WHEN NOT relrowsecurity THEN 'row level security is disabled: the policies do nothing and nothing is recorded'
                ELSE format('row level security is not forced: its owner %s reads and writes around the policies', pg_get_userbyid(relowner)) END,
           format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY', name)
      FROM t WHERE NOT (relrowsecurity AND relforcerowsecurity)
    UNION ALL
    SELECT 'table', t.name,
           format('owned by %s, which the application role %s is (a member of): it can switch the policies off', pg_get_userbyid(t.relowner), pg_get_userbyid(min(app.oid))),
           format('ALTER TABLE %s OWNER TO a role the application does not use', t.name)
      FROM t JOIN owner_members om ON om.owner = t.relowner JOIN app ON app.oid = om.oid
     GROUP BY t.name, t.relowner
    UNION ALL
    SELECT 'table', c.oid::regclass::text,
           format('has the tenant column %I but is not protected: every tenant reads and writes all of it, unrecorded', min(a.attname)),
           format('shadowgate protect %s --column %s', c.oid::regclass, min(a.attname))
      FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND a.attname IN (SELECT column_name FROM tenant_columns)
       AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'shadowgate')
       AND n.nspname NOT LIKE 'pg\_toast%' AND n.nspname NOT LIKE 'pg\_temp%'
       AND NOT EXISTS (SELECT 1 FROM shadowgate.protected_tables p WHERE p.table_oid = c.oid)
     GROUP BY c.oid
    UNION ALL
    SELECT 'event trigger', e.evtname,
           'is disabled: grants, policies and RLS switched on protected tables no longer reset the shadow clock at once',
           format('ALTER EVENT TRIGGER %I ENABLE', e.evtname)
      FROM pg_event_trigger e WHERE e.evtname IN ('shadowgate_ddl_end', 'shadowgate_sql_drop') AND e.evtenabled = 'D'
    UNION ALL
    -- a hot standby's sessions cannot record into the standby (recorder_name(), 002_recording.sql);
    -- a physical walsender (no database) streams to a standby, a logical one is not that
    SELECT 'recorder', 'shadowgate.recorder_target',
           CASE WHEN pg_is_in_recovery() THEN 'is NULL on this hot standby: sessions here in shadow record nothing (the recorder cannot write to a standby; they warn)'
                ELSE 'is NULL while a standby streams from this server: sessions on it in shadow record nothing (the recorder cannot write to a standby; they warn)' END,
           format('UPDATE shadowgate.recorder_target SET conninfo = %L (on the primary)',
                  format('host=<the primary> port=<its port> dbname=%s user=%s', current_database(), current_user))
      FROM shadowgate.recorder_target r
     WHERE r.conninfo IS NULL
       AND (pg_is_in_recovery() OR EXISTS (SELECT 1 FROM pg_stat_get_wal_senders() w JOIN pg_stat_activity a ON a.pid = w.pid
                                            WHERE a.datname IS NULL))
    ) f
    ORDER BY kind, object
$$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA shadowgate FROM PUBLIC;

-- The starting point: what is true now is no change. Saved before the event triggers exist.
INSERT INTO shadowgate.drift_state (item, table_oid, part, value) SELECT item, table_oid, part, value FROM shadowgate.drift_entries();

CREATE EVENT TRIGGER shadowgate_ddl_end ON ddl_command_end
    WHEN TAG IN ('GRANT', 'REVOKE', 'CREATE POLICY', 'ALTER POLICY', 'DROP POLICY', 'CREATE TABLE', 'ALTER TABLE',
                 'DROP TABLE', 'ALTER SCHEMA', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION shadowgate.on_ddl_end();
CREATE EVENT TRIGGER shadowgate_sql_drop ON sql_drop
    WHEN TAG IN ('DROP TABLE', 'DROP SCHEMA', 'DROP OWNED')
    EXECUTE FUNCTION shadowgate.on_sql_drop();


-- Down Migration
