-- Up Migration
-- Coverage: which protected tables and operations a project in shadow exercised in its current
-- shadow window (allowed accesses included), and the operations an operator requires it to have
-- exercised before it may enforce. Hooks elsewhere, one line each: policy_rule() (003) wraps every
-- rule in with_observation(); absorb_audit() (007) calls absorb_coverage(); grant_app() (003)
-- grants observe().
--
-- Observed per statement, recorded per transaction: while some project is in shadow, every policy
-- for reads, inserts, updates (old row) and deletes starts with an initPlan, evaluated once per
-- statement whatever the number of rows, that calls observe() for a declared project in shadow and
-- is `true` for everyone else. observe() adds one entry per (transaction, project, table, operation) to the
-- session's declared transactions, which its recorder (002_recording.sql) writes into the UNLOGGED
-- coverage_inbox with the transaction counts (a transaction-local memo skips the later statements);
-- the absorb folds the rows into coverage: transactions per (project, table, operation) in the
-- current shadow window. Nothing is generated while no project is in shadow
-- (test/policy-plans.test.ts).
--
-- Limits, stated: coverage counts exactly the transactions that are counted. A read-only
-- transaction is observed; a rolled-back one is not (as it is not counted), nor one in a session
-- whose recorder cannot be opened; an idle session's last observations arrive with its next
-- transaction or flush_recorder(), as its counts do. An UPDATE or
-- DELETE that reads the table (WHERE, RETURNING) also goes through its SELECT policy and is observed
-- as a SELECT too, as PostgreSQL checks it. The application role can call observe() itself: it can
-- only claim, for the project it declared (its right, and it could declare any), an operation on a
-- table it holds the privilege for, once per transaction, i.e. what one real statement of that
-- transaction would have shown. It cannot claim coverage for a project other than the one it
-- declared, nor count a transaction twice.

CREATE UNLOGGED TABLE shadowgate.coverage_inbox (
    txid               bigint NOT NULL,
    logged_at          timestamptz NOT NULL DEFAULT now(),
    context_project_id text,
    user_name          text NOT NULL,
    table_id           integer NOT NULL,
    op                 text NOT NULL,
    app_xact           text NOT NULL  -- the application's transaction: '<pid>.<session start>.<transaction start>'
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);  -- emptied all day long

-- The current shadow window of each project in shadow (emptied when its clock starts again).
-- Tables are the protected tables that are not partitions of a protected table: an access through a
-- protected partition counts for its root.
CREATE TABLE shadowgate.coverage (
    project_id   varchar(50) NOT NULL REFERENCES shadowgate.project_registry ON DELETE CASCADE,
    table_id     integer NOT NULL REFERENCES shadowgate.protected_tables ON DELETE CASCADE,
    operation    varchar(10) NOT NULL CHECK (operation IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')),
    transactions bigint NOT NULL,
    first_seen   timestamptz NOT NULL,
    last_seen    timestamptz NOT NULL,
    PRIMARY KEY (project_id, table_id, operation)
);

-- Operations a project must have exercised in its current shadow window before it may enforce
-- (`project set --require-coverage`). table_id NULL: on every protected table.
CREATE TABLE shadowgate.coverage_requirements (
    project_id varchar(50) NOT NULL REFERENCES shadowgate.project_registry ON DELETE CASCADE,
    table_id   integer REFERENCES shadowgate.protected_tables ON DELETE CASCADE,
    operation  varchar(10) NOT NULL CHECK (operation IN ('SELECT', 'INSERT', 'UPDATE', 'DELETE')),
    UNIQUE NULLS NOT DISTINCT (project_id, table_id, operation)
);

-- A project's required coverage as the CLI shows it: [{table, operation}], table null for every
-- protected table (`project list`, `report`, `status`).
CREATE FUNCTION shadowgate.required_coverage(p_project text) RETURNS json
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(json_agg(json_build_object('table', t.table_name, 'operation', q.operation)
                             ORDER BY t.table_name NULLS FIRST, q.operation), '[]')
      FROM shadowgate.coverage_requirements q
      LEFT JOIN shadowgate.protected_tables t ON t.id = q.table_id
     WHERE q.project_id = p_project
$$;

-- SQL text: a policy's rule with the observation arm in front while some project is in shadow
-- (called by policy_rule(); unchanged for the new row of an UPDATE, checked with the old one).
CREATE FUNCTION shadowgate.with_observation(tid integer, op text, shadow text[], rule text) RETURNS text
LANGUAGE sql IMMUTABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN cardinality(shadow) = 0 OR op NOT IN ('r', 'i', 'u', 'd') THEN rule
           ELSE format('(SELECT CASE WHEN current_setting(''shadowgate.project_id'', true) = ANY (%L::text[]) THEN shadowgate.observe(%s, %L) ELSE true END) AND (%s)',
                       shadow, tid, op, rule) END
$$;

-- One statement of a project in shadow reached table tid with operation op. The first time in the
-- transaction it joins the session's declared transactions (002_recording.sql, declare_counted()) as
-- '<project>@<transaction start>/<tid><op>', and reaches the inbox through the recorder with them:
-- no write of the application's own (a read-only transaction is observed too, and no transaction
-- takes an xid or a subtransaction for it), no plpgsql expression more than needed on the path of
-- every statement (each is compiled again in every transaction). Always true, never raises. The
-- memo's name holds the recorder's secret name: the application cannot skip an observation; RESET
-- ALL can repeat one, which the absorb counts once per transaction.
CREATE FUNCTION shadowgate.observe(tid integer, op text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s text := (shadowgate_dblink.dblink_get_connections())[1];
    memo text := 'shadowgate.' || s || 'o' || tid || op;  -- NULL without a recorder
BEGIN
    -- the first time in the transaction for this project, for a known operation (checked before
    -- the memo is read: its name holds op) and the project this transaction declared through
    -- set_project_context() (declare_counted() keeps it: a context set otherwise is not counted, so
    -- not observed either); without a recorder (set_project_context() opens it) nothing is
    -- observed, as nothing is counted; a table id that no policy passes (NULL, negative: not a
    -- setting name) observes nothing. The memo holds the project observed last on this table and
    -- operation: a transaction that declares another project observes again (declaring A, B, A
    -- observes A twice: the recorder takes it once)
    IF op IN ('r', 'i', 'u', 'd') AND tid >= 0 AND s IS NOT NULL
       AND coalesce(current_setting(memo, true), '') <> current_setting('shadowgate.project_id', true)  -- '' once reset
       AND current_setting('shadowgate.project_id', true) = current_setting('shadowgate.' || s || 'd', true) THEN
        memo := set_config(memo, current_setting('shadowgate.project_id', true), true)
                || set_config('shadowgate.' || s || 't',
                              coalesce(nullif(current_setting('shadowgate.' || s || 't', true), ''), ',')
                              || current_setting('shadowgate.project_id', true) || '@'
                              || shadowgate.microseconds(now()) || '/' || tid || op || ',', false);
    END IF;
    RETURN true;
END $$;

-- Empties the coverage inbox into coverage (called by absorb_audit(), under lock_audit(), so that no
-- clock starts meanwhile). A row counts for the project it declared when that project is in shadow,
-- its transaction committed after the shadow clock started (not visible in its snapshot, as for
-- violations), the table is protected and the role held the privilege the operation needs.
-- Transactions are counted once per (table, operation). Returns how many coverage rows it touched.
CREATE FUNCTION shadowgate.absorb_coverage() RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n integer;
BEGIN
    WITH moved AS (
        DELETE FROM shadowgate.coverage_inbox RETURNING *
    ), counted AS (
        SELECT s.project_id, coalesce(r.id, t.id) AS table_id,
               shadowgate.operation_name(m.op) AS operation,
               count(DISTINCT m.app_xact) AS transactions, min(m.logged_at) AS first_seen, max(m.logged_at) AS last_seen
          FROM moved m
          JOIN shadowgate.rls_migration_status s ON s.project_id = m.context_project_id AND s.migration_phase = 'shadow'
          JOIN shadowgate.protected_tables t ON t.id = m.table_id
          JOIN pg_roles u ON u.rolname = m.user_name
          LEFT JOIN shadowgate.protected_tables r ON r.table_oid = pg_partition_root(t.table_oid)
         WHERE m.op IN ('r', 'i', 'u', 'd')
           AND NOT txid_visible_in_snapshot(m.txid, s.shadow_started_snapshot)
           AND has_table_privilege(u.oid, t.table_oid,
                                   shadowgate.operation_name(m.op))
         GROUP BY 1, 2, 3
    )
    INSERT INTO shadowgate.coverage AS c (project_id, table_id, operation, transactions, first_seen, last_seen)
    SELECT * FROM counted ORDER BY 1, 2, 3
    ON CONFLICT (project_id, table_id, operation) DO UPDATE SET
        transactions = c.transactions + EXCLUDED.transactions,
        first_seen = least(c.first_seen, EXCLUDED.first_seen),
        last_seen = greatest(c.last_seen, EXCLUDED.last_seen);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

-- Every start of a project's shadow clock (entering shadow, every reset: start_shadow_clock() is
-- the only writer of the snapshot) opens a new coverage window.
CREATE FUNCTION shadowgate.open_coverage_window() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    DELETE FROM shadowgate.coverage WHERE project_id = NEW.project_id;
    RETURN NULL;
END $$;
CREATE TRIGGER coverage_window AFTER UPDATE OF shadow_started_snapshot ON shadowgate.rls_migration_status
    FOR EACH ROW EXECUTE FUNCTION shadowgate.open_coverage_window();

-- Replaces a project's required coverage: operation p_ops[i] on table p_tables[i] (a name as the
-- operator writes it; NULL: every protected table). Raises undefined_table for a table that is not
-- protected, no_data_found for an unknown project.
CREATE FUNCTION shadowgate.set_required_coverage(p text, p_tables text[], p_ops text[]) RETURNS integer
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    bad text;
    n integer;
BEGIN
    PERFORM 1 FROM shadowgate.project_registry WHERE project_id = p FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown project "%"', p USING ERRCODE = 'no_data_found';
    END IF;
    SELECT x.tbl INTO bad FROM unnest(p_tables) AS x(tbl)
     WHERE x.tbl IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM shadowgate.protected_tables t WHERE t.table_oid = to_regclass(x.tbl))
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'table "%" is not protected (shadowgate protect)', bad USING ERRCODE = 'undefined_table';
    END IF;
    DELETE FROM shadowgate.coverage_requirements WHERE project_id = p;
    INSERT INTO shadowgate.coverage_requirements (project_id, table_id, operation)
    SELECT DISTINCT p, t.id, x.op
      FROM unnest(p_tables, p_ops) AS x(tbl, op)
      LEFT JOIN shadowgate.protected_tables t ON t.table_oid = to_regclass(x.tbl);
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END $$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA shadowgate FROM PUBLIC;

-- Down Migration
