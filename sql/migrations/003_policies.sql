-- Up Migration
-- The rollout policies: set_project_context(), the policy text generated per table from the
-- projects' phases, protect() and grant_app().
--
-- Codes (the same everywhere, in this order: tid, op, rc, owner):
--   tid    shadowgate.protected_tables.id
--   op     r select | i insert | u update, old row | w update, new row | d delete
--   rc     x cross-tenant (a registered context) | n no context | u unknown project (unregistered context)
--   phase  pending -> shadow -> enforcing -> complete (enforcing and complete decide alike)
--
-- The decision for one row, owner o, declared project c (set_project_context: the application's word,
-- the only setting trusted):
--   o = c, or (reads) o is a permitted target of a shared c       -> allowed
--   c registered:   c pending, or (reads) c super                 -> allowed
--                   c in shadow                                    -> allowed, noted (rc x)
--                   c enforcing or complete                        -> denied
--   c empty (n) or unregistered (u): o pending, unregistered, NULL -> allowed
--                   o in shadow                                    -> allowed, noted (rc n / u)
--                   o enforcing or complete                        -> denied
--   Exception: while no project is pending or in shadow, the last two lines are not generated: such
--   a context reads only rows owned by its own name (the hand-written tenant policy's behaviour).
--
-- The table is not evaluated through functions at run time: policy_rule() writes the decision for
-- the current phases, access levels and read permissions as SQL with the project names as
-- constants, and regenerate_policies() puts it on the table. Whatever changes those (a phase, a
-- project, a permission) regenerates every protected table's policies in the same transaction (the
-- triggers at the end), so a constant is never stale: a policy change invalidates cached plans,
-- generic ones included. Only arms some project needs are generated: with every project enforcing
-- or complete the SELECT policy is `col = current_setting('shadowgate.project_id', true)`, the same
-- expression, indexes and parallel plans as a hand-written tenant policy (test/policy-plans.test.ts).
-- Arms that do not depend on the row (a context list) cannot be index conditions: a super, pending or
-- shadow project, or a shared project's permissions, cost queries that rely on RLS alone to filter
-- the tenant index (bench/README.md, mixed table).
--
-- Composition with the table's own policies: a table that has policies of its own gets shadowgate's
-- as RESTRICTIVE policies (AND-ed: its own still decide what they decide), and every arm that notes
-- a row repeats the own policies' expression for that command, so nothing is noted that the table's
-- own policies hide (PostgreSQL evaluates restrictive policies first). A table without policies gets
-- permissive ones (there is nothing to AND with).

-- A project name as a uuid / an integer, NULL where it is not one (never an error: the application's
-- declared project reaches these). Canonical uuid spelling, either case, hyphens optional.
CREATE FUNCTION shadowgate.as_uuid(v text) RETURNS uuid
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN v ~* '^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$' THEN v::uuid END $$;

CREATE FUNCTION shadowgate.as_bigint(v text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT CASE WHEN v ~ '^[+-]?[0-9]{1,18}$' THEN v::bigint END $$;

-- The application calls set_project_context(p) first in every transaction. It never fails for
-- an unknown project: in shadow an unknown project is recorded, in enforcing it sees nothing.
-- Transactions count only while their project is in shadow (that is all eligibility reads), so
-- set_project_context() is generated like the policies: an inlined set_config() for every project
-- not in shadow (what a hand-written tenant policy's application runs), declare_counted()
-- (002_recording.sql) for those in shadow. See context_function().
-- SQL text of set_project_context() for the current phases.
CREATE FUNCTION shadowgate.context_function() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format($f$CREATE OR REPLACE FUNCTION shadowgate.set_project_context(p_project text) RETURNS text
LANGUAGE sql VOLATILE AS %L$f$,
        CASE WHEN count(*) = 0 THEN 'SELECT set_config(''shadowgate.project_id'', coalesce(p_project, ''''), true)'
             ELSE format('SELECT CASE WHEN p_project = ANY (%L::text[]) THEN shadowgate.declare_counted(p_project)
            ELSE set_config(''shadowgate.project_id'', coalesce(p_project, ''''), true) END',
                         array_agg(project_id::text ORDER BY project_id)) END)
      FROM shadowgate.rls_migration_status WHERE migration_phase = 'shadow'
$$;

CREATE FUNCTION shadowgate.set_project_context(p_project text) RETURNS text
LANGUAGE sql VOLATILE
AS $$ SELECT set_config('shadowgate.project_id', coalesce(p_project, ''), true) $$;

-- SQL text: the protected column of table tid, in the type its comparisons use, and the declared
-- project in that type. Text-like columns compare as text (the anchor's shape), uuid and integer
-- columns in their own type (their indexes apply; upper-case uuids match); anything else as text.
CREATE FUNCTION shadowgate.column_kind(tid integer) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN a.atttypid IN ('text'::regtype, 'varchar'::regtype) THEN 'text'
                WHEN a.atttypid = 'uuid'::regtype THEN 'uuid'
                WHEN a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) THEN 'bigint'
                ELSE 'cast' END
      FROM shadowgate.protected_tables t
      JOIN pg_attribute a ON a.attrelid = t.table_oid AND a.attname = t.column_name
     WHERE t.id = tid
$$;

-- SQL text of an array constant of the given projects in the column's comparison type; projects
-- that cannot be values of that type are left out (no row can be theirs).
CREATE FUNCTION shadowgate.owner_list(kind text, owners text[]) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT format('%L::%s[]',
                  coalesce(array_agg(o ORDER BY o) FILTER (WHERE CASE kind WHEN 'uuid' THEN shadowgate.as_uuid(o) IS NOT NULL
                                                                          WHEN 'bigint' THEN shadowgate.as_bigint(o) IS NOT NULL
                                                                          ELSE true END), '{}'),
                  CASE kind WHEN 'uuid' THEN 'uuid' WHEN 'bigint' THEN 'bigint' ELSE 'text' END)
      FROM unnest(owners) AS o
$$;

-- SQL text of the expression the table's own policies apply to a command (op code), NULL when the
-- table has none: permissive ones OR-ed (none: false), restrictive ones AND-ed, as PostgreSQL does.
CREATE FUNCTION shadowgate.own_policies_rule(tbl regclass, op text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    cmds "char"[] := CASE op WHEN 'r' THEN '{r,*}' WHEN 'i' THEN '{a,*}' WHEN 'd' THEN '{d,*}' ELSE '{w,*}' END;
    perm text[];
    restr text[];
    n integer;
BEGIN
    SELECT count(*) INTO n FROM pg_policy WHERE polrelid = tbl AND polname NOT LIKE 'shadowgate\_%';
    IF n = 0 THEN RETURN NULL; END IF;
    -- reads, deletes and the old row of an update: USING; inserts and the new row: WITH CHECK,
    -- which is USING where a policy for all commands has no WITH CHECK
    SELECT array_agg('(' || e || ')') FILTER (WHERE polpermissive),
           array_agg('(' || e || ')') FILTER (WHERE NOT polpermissive)
      INTO perm, restr
      FROM (SELECT polpermissive,
                   CASE WHEN op IN ('i', 'w') THEN pg_get_expr(coalesce(polwithcheck, polqual), polrelid)
                        ELSE pg_get_expr(polqual, polrelid) END AS e
              FROM pg_policy
             WHERE polrelid = tbl AND polname NOT LIKE 'shadowgate\_%' AND polcmd = ANY (cmds)) p
     WHERE e IS NOT NULL;
    RETURN '(' || coalesce(array_to_string(perm, ' OR '), 'false') || ')'
        || coalesce(' AND ' || array_to_string(restr, ' AND '), '');
END $$;

-- SQL text of shadowgate's rule for one operation on table tid, for the current phases, access
-- levels and read permissions (see the header): the USING / WITH CHECK expression of its policy.
CREATE FUNCTION shadowgate.policy_rule(tid integer, op text) RETURNS text
LANGUAGE plpgsql STABLE SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t shadowgate.protected_tables;
    kind text := shadowgate.column_kind(tid);
    reads boolean := op = 'r';
    col text;        -- the row owner in the comparison type
    -- the declared project, written out rather than through an inlined function: planning a
    -- statement then costs what it costs under a hand-written policy
    declared constant text := 'current_setting(''shadowgate.project_id'', true)';
    ctx text;        -- the declared project in the column's comparison type
    own text;        -- the table's own rule for this command, guarding every note
    guard text;
    registered text[];
    pending text[];  -- projects in pending (their contexts are not judged; neither are their rows)
    shadow text[];
    settled text[];  -- enforcing or complete
    open_ctx text[]; -- contexts that are not judged for this operation
    noting text[];   -- contexts whose out-of-scope rows are noted
    scope text;
    arms text[] := '{}';  -- the WHEN clauses of the declared project's initPlan
    rule text;
    readers record;
    extra text[] := '{}';
BEGIN
    SELECT * INTO t FROM shadowgate.protected_tables WHERE id = tid;
    col := CASE kind WHEN 'cast' THEN quote_ident(t.column_name) || '::text' ELSE quote_ident(t.column_name) END;
    ctx := CASE kind WHEN 'uuid' THEN format('(SELECT shadowgate.as_uuid(%s))', declared)
                     WHEN 'bigint' THEN format('(SELECT shadowgate.as_bigint(%s))', declared)
                     ELSE declared END;
    SELECT array_agg(g.project_id::text ORDER BY g.project_id),
           coalesce(array_agg(g.project_id::text ORDER BY g.project_id) FILTER (WHERE coalesce(s.migration_phase, 'pending') = 'pending'), '{}'),
           coalesce(array_agg(g.project_id::text ORDER BY g.project_id) FILTER (WHERE s.migration_phase = 'shadow'), '{}'),
           coalesce(array_agg(g.project_id::text ORDER BY g.project_id) FILTER (WHERE s.migration_phase IN ('enforcing', 'complete')), '{}'),
           coalesce(array_agg(g.project_id::text ORDER BY g.project_id)
                      FILTER (WHERE coalesce(s.migration_phase, 'pending') = 'pending' OR (reads AND g.access_level = 'super')), '{}'),
           coalesce(array_agg(g.project_id::text ORDER BY g.project_id)
                      FILTER (WHERE s.migration_phase = 'shadow' AND NOT (reads AND g.access_level = 'super')), '{}')
      INTO registered, pending, shadow, settled, open_ctx, noting
      FROM shadowgate.project_registry g
      LEFT JOIN shadowgate.rls_migration_status s ON s.project_id = g.project_id;
    IF cardinality(shadow) = 0 AND cardinality(settled) = 0 THEN
        RETURN 'true';  -- nothing is judged anywhere: no project has left pending
    END IF;
    own := shadowgate.own_policies_rule(t.table_oid, op);
    guard := coalesce(own || ' AND ', '');

    -- in scope: own rows and, for reads, the targets of a shared project's permissions (one array
    -- element per permission rank, so that the planner sees how many values there are)
    scope := format('%s = %s', col, ctx);
    IF reads THEN
        FOR readers IN
            SELECT r.rk, string_agg(format('WHEN %L THEN %L', r.reader_project_id, r.target_project_id), ' ' ORDER BY r.reader_project_id) AS whens
              FROM (SELECT p.reader_project_id, p.target_project_id,
                           row_number() OVER (PARTITION BY p.reader_project_id ORDER BY p.target_project_id) AS rk
                      FROM shadowgate.project_read_permissions p
                      JOIN shadowgate.project_registry g ON g.project_id = p.reader_project_id AND g.access_level = 'shared'
                     WHERE kind IN ('text', 'cast')
                        OR (kind = 'uuid' AND shadowgate.as_uuid(p.target_project_id) IS NOT NULL)
                        OR (kind = 'bigint' AND shadowgate.as_bigint(p.target_project_id) IS NOT NULL)) r
             GROUP BY r.rk ORDER BY r.rk LOOP
            extra := extra || format('(CASE %s %s END)::%s', declared, readers.whens,
                                     CASE kind WHEN 'uuid' THEN 'uuid' WHEN 'bigint' THEN 'bigint' ELSE 'text' END);
        END LOOP;
        IF cardinality(extra) > 0 THEN
            scope := format('%s = ANY (ARRAY[%s, %s])', col, ctx, array_to_string(extra, ', '));
        END IF;
    END IF;
    -- What the declared project alone decides is one initPlan, (SELECT CASE ...): evaluated once per
    -- statement, not per row, whatever the number of arms (each (SELECT ...) is an initPlan of its
    -- own, planned and run for every statement: fewer is cheaper, measured in bench/README.md).
    -- Its value: 'o' open (the context is not judged), 'x' out-of-scope rows are noted (a project in
    -- shadow), 'n' no context or an unregistered one (note_row() tells the two apart), NULL judged
    -- by the scope alone.
    IF cardinality(open_ctx) > 0 THEN
        arms := arms || format('WHEN %s = ANY (%L::text[]) THEN ''o''', declared, open_ctx);
    END IF;
    IF cardinality(noting) > 0 THEN
        arms := arms || format('WHEN %s = ANY (%L::text[]) THEN ''x''', declared, noting);
    END IF;
    IF cardinality(pending) > 0 OR cardinality(shadow) > 0 THEN
        arms := arms || format('WHEN NOT coalesce(%s = ANY (%L::text[]), false) THEN ''n''', declared, registered);
    END IF;
    IF cardinality(arms) = 0 THEN
        rule := scope;
    ELSE
        rule := format('%s OR CASE (SELECT CASE %s END) %s%s%s ELSE false END', scope, array_to_string(arms, ' '),
            CASE WHEN cardinality(open_ctx) > 0 THEN 'WHEN ''o'' THEN true ' ELSE '' END,
            CASE WHEN cardinality(noting) > 0
                 THEN format('WHEN ''x'' THEN %sshadowgate.note_row(%s, %L, ''x'', %s::text) ', guard, tid, op, quote_ident(t.column_name))
                 ELSE '' END,
            -- no context or an unregistered one: rows of a pending, unregistered or NULL owner; a
            -- shadow owner's rows noted
            CASE WHEN cardinality(pending) > 0 OR cardinality(shadow) > 0
                 THEN format('WHEN ''n'' THEN (%s IS NULL OR %s <> ALL (%s)%s) ', col, col, shadowgate.owner_list(kind, shadow || settled),
                             CASE WHEN cardinality(shadow) > 0
                                  THEN format(' OR (%s = ANY (%s) AND %sshadowgate.note_row(%s, %L, ''n'', %s::text))',
                                              col, shadowgate.owner_list(kind, shadow), guard, tid, op, quote_ident(t.column_name))
                                  ELSE '' END)
                 ELSE '' END);
    END IF;
    RETURN shadowgate.with_observation(tid, op, shadow, rule);  -- coverage: 008_coverage.sql
END $$;

-- Why shadowgate cannot compose with the table's own policies (NULL: it can). Such a table is
-- refused, changing nothing.
CREATE FUNCTION shadowgate.composition_refusal(tbl regclass) RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(
        (SELECT format('policy %I on %s applies to some roles only; shadowgate can compose only with policies for every role',
                       polname, tbl)
           FROM pg_policy
          WHERE polrelid = tbl AND polname NOT LIKE 'shadowgate\_%' AND polroles <> '{0}'
          ORDER BY polname LIMIT 1),
        (SELECT format('table %s has row level security enabled and no policies (it shows no row): nothing to protect', tbl)
           FROM pg_class c
          WHERE c.oid = tbl AND c.relrowsecurity
            AND NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = tbl)));
$$;

-- Puts shadowgate's policies for the current phases on one protected table (again: replaces them).
-- Called by protect(), after every phase, project or permission change (for every protected
-- table), and by whoever notices that the table's own policies changed. Policy DDL takes an ACCESS
-- EXCLUSIVE lock: each table is tried with a short lock_timeout, a few times, so that a long
-- application transaction fails the operator's command instead of queueing the application behind it.
CREATE FUNCTION shadowgate.regenerate_policies(tbl regclass) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tid integer;
    refusal text := shadowgate.composition_refusal(tbl);
    kind text;
    pol record;
    attempt integer := 0;
    caller_timeout text := current_setting('lock_timeout');
BEGIN
    SELECT id INTO tid FROM shadowgate.protected_tables WHERE table_oid = tbl;
    IF tid IS NULL THEN
        RAISE EXCEPTION 'table % is not protected', tbl USING ERRCODE = 'undefined_object';
    END IF;
    IF refusal IS NOT NULL THEN
        RAISE EXCEPTION '%', refusal USING ERRCODE = 'feature_not_supported';
    END IF;
    kind := CASE WHEN EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = tbl AND polname NOT LIKE 'shadowgate\_%')
                 THEN 'RESTRICTIVE' ELSE 'PERMISSIVE' END;
    LOOP
        BEGIN
            PERFORM set_config('lock_timeout', '500ms', true);
            EXECUTE format('LOCK TABLE %s IN ACCESS EXCLUSIVE MODE', tbl);
            PERFORM set_config('lock_timeout', caller_timeout, true);
            EXIT;
        EXCEPTION WHEN lock_not_available THEN
            attempt := attempt + 1;
            IF attempt >= 6 THEN
                RAISE EXCEPTION 'could not change the policies of %: a transaction has held it for over 3 s; try again', tbl
                    USING ERRCODE = 'lock_not_available';
            END IF;
            PERFORM pg_sleep(0.1 * attempt);
        END;
    END LOOP;
    FOR pol IN SELECT polname FROM pg_policy WHERE polrelid = tbl AND polname LIKE 'shadowgate\_%' LOOP
        EXECUTE format('DROP POLICY %I ON %s', pol.polname, tbl);
    END LOOP;
    EXECUTE format('CREATE POLICY shadowgate_select ON %s AS %s FOR SELECT USING (%s)',
                   tbl, kind, shadowgate.policy_rule(tid, 'r'));
    EXECUTE format('CREATE POLICY shadowgate_insert ON %s AS %s FOR INSERT WITH CHECK (%s)',
                   tbl, kind, shadowgate.policy_rule(tid, 'i'));
    EXECUTE format('CREATE POLICY shadowgate_update ON %s AS %s FOR UPDATE USING (%s) WITH CHECK (%s)',
                   tbl, kind, shadowgate.policy_rule(tid, 'u'), shadowgate.policy_rule(tid, 'w'));
    EXECUTE format('CREATE POLICY shadowgate_delete ON %s AS %s FOR DELETE USING (%s)',
                   tbl, kind, shadowgate.policy_rule(tid, 'd'));
    RETURN tid;
END $$;

-- Every protected table, in one order (two regenerations at once lock tables alike).
CREATE FUNCTION shadowgate.regenerate_all_policies() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    t record;
    n integer := 0;
BEGIN
    FOR t IN SELECT table_oid::regclass AS tbl FROM shadowgate.protected_tables
              WHERE EXISTS (SELECT 1 FROM pg_class WHERE oid = table_oid) ORDER BY id LOOP
        PERFORM shadowgate.regenerate_policies(t.tbl);
        n := n + 1;
    END LOOP;
    RETURN n;
END $$;

-- Puts the rollout policies on an application table. Refuses, changing nothing, a table whose own
-- policies it cannot compose with (composition_refusal()).
CREATE FUNCTION shadowgate.protect(tbl regclass, col name DEFAULT 'project_id') RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    tid integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_attribute
                    WHERE attrelid = tbl AND attname = col AND attnum > 0 AND NOT attisdropped) THEN
        RAISE EXCEPTION 'table % has no column %', tbl, col USING ERRCODE = 'undefined_column';
    END IF;
    INSERT INTO shadowgate.protected_tables (table_oid, table_name, column_name)
    VALUES (tbl, tbl::text, col)
    ON CONFLICT (table_oid) DO UPDATE SET column_name = EXCLUDED.column_name, table_name = EXCLUDED.table_name
    RETURNING id INTO tid;
    PERFORM shadowgate.regenerate_policies(tbl);
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
    RETURN tid;
END $$;

-- Phases, projects, access levels and read permissions are constants in the policies: any change
-- regenerates them in the same transaction.
CREATE FUNCTION shadowgate.on_rule_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE shadowgate.context_function();
    PERFORM shadowgate.regenerate_all_policies();
    RETURN NULL;
END $$;
CREATE TRIGGER rule_change_phase AFTER INSERT OR DELETE OR UPDATE OF migration_phase ON shadowgate.rls_migration_status
    FOR EACH STATEMENT EXECUTE FUNCTION shadowgate.on_rule_change();
CREATE TRIGGER rule_change_project AFTER DELETE OR UPDATE OF project_id, access_level ON shadowgate.project_registry
    FOR EACH STATEMENT EXECUTE FUNCTION shadowgate.on_rule_change();
CREATE TRIGGER rule_change_permission AFTER INSERT OR DELETE OR UPDATE ON shadowgate.project_read_permissions
    FOR EACH STATEMENT EXECUTE FUNCTION shadowgate.on_rule_change();

-- Gives an application role what it needs: the schema, the functions its policies call, DML on
-- protected tables and their sequences. Refuses a role that would bypass the policies.
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
    -- what the policies and set_project_context() call (inlined functions are checked for EXECUTE
    -- too), and flush_recorder(); declare_counted(), note_row() and flush_recorder() are SECURITY
    -- DEFINER (002_recording.sql)
    EXECUTE format('GRANT EXECUTE ON FUNCTION shadowgate.set_project_context(text), shadowgate.declare_counted(text),
        shadowgate.note_row(integer, text, text, text), shadowgate.as_uuid(text), shadowgate.as_bigint(text),
        shadowgate.flush_recorder() TO %I', role_name);
    EXECUTE format('GRANT EXECUTE ON FUNCTION shadowgate.observe(integer, text) TO %I', role_name);  -- coverage: 008_coverage.sql
END $$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA shadowgate FROM PUBLIC;

-- Down Migration
