-- Up Migration
-- Recording: transaction counters, the recorder (would-be denials and declared transactions sent
-- out of band through dblink), the UNLOGGED audit inbox and the key encoder and decoder. (Runs
-- before 003_policies.sql: the policy functions call these.) 007_intake.sql empties the inbox into
-- rls_audit_log rows and fingerprints (absorb_audit()).

-- Transaction counters per project, two UNLOGGED sequences created with the project: txn_<seq_no>
-- counts its transactions (the recorder, take_findings()), unobserved_<seq_no> those shadowgate
-- could not observe (count_unobserved(), below). nextval() on them writes no WAL, so counting keeps
-- a read-only transaction from having to flush WAL at commit (a logged sequence writes WAL every 32
-- calls, and that commit must then wait for the disk).
-- PostgreSQL empties unlogged relations after a crash (not after a clean restart), so the counts are
-- carried into txn_counts (logged) by carry_txn_counts(), which absorb_audit() calls at most every
-- 10 s; the UNLOGGED txn_counter_alive row tells whether a crash happened since. A crash loses at
-- most the transactions counted since the last carry: a count can fall short, never run ahead.
CREATE TABLE shadowgate.txn_counts (
    seq_no  integer NOT NULL,
    counter text NOT NULL CHECK (counter IN ('txn', 'unobserved')),
    carried bigint NOT NULL DEFAULT 0,  -- counted up to the last carry (and buffered counts taken since: take_unobserved())
    seen    bigint NOT NULL DEFAULT 0,  -- the sequence's value at the last carry
    PRIMARY KEY (seq_no, counter)
);
CREATE UNLOGGED TABLE shadowgate.txn_counter_alive (carried_at timestamptz NOT NULL);

CREATE FUNCTION shadowgate.txn_sequence(seq_no integer, counter text DEFAULT 'txn') RETURNS regclass
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$ SELECT format('shadowgate.%I', counter || '_' || seq_no)::regclass $$;

CREATE FUNCTION shadowgate.txn_count(p_seq_no integer, p_counter text DEFAULT 'txn') RETURNS bigint
LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(c.carried, 0)
           + coalesce(pg_sequence_last_value(shadowgate.txn_sequence(p_seq_no, p_counter)), 0)
           - CASE WHEN EXISTS (SELECT 1 FROM shadowgate.txn_counter_alive) THEN coalesce(c.seen, 0) ELSE 0 END
      FROM (SELECT) AS one
      LEFT JOIN shadowgate.txn_counts c ON c.seq_no = p_seq_no AND c.counter = p_counter
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
      FROM (SELECT seq_no, counter, coalesce(pg_sequence_last_value(shadowgate.txn_sequence(seq_no, counter)), 0) AS n
              FROM shadowgate.txn_counts) v
     WHERE v.seq_no = c.seq_no AND v.counter = c.counter;
    DELETE FROM shadowgate.txn_counter_alive;
    INSERT INTO shadowgate.txn_counter_alive VALUES (now());
END $$;

CREATE FUNCTION shadowgate.on_project_registered() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('CREATE UNLOGGED SEQUENCE shadowgate.%I', 'txn_' || NEW.seq_no);
    EXECUTE format('CREATE UNLOGGED SEQUENCE shadowgate.%I', 'unobserved_' || NEW.seq_no);
    INSERT INTO shadowgate.txn_counts (seq_no, counter) VALUES (NEW.seq_no, 'txn'), (NEW.seq_no, 'unobserved');
    INSERT INTO shadowgate.rls_migration_status (project_id) VALUES (NEW.project_id);
    RETURN NULL;
END $$;
CREATE TRIGGER project_registered AFTER INSERT ON shadowgate.project_registry
    FOR EACH ROW EXECUTE FUNCTION shadowgate.on_project_registered();

CREATE FUNCTION shadowgate.on_project_removed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    EXECUTE format('DROP SEQUENCE IF EXISTS shadowgate.%I', 'txn_' || OLD.seq_no);
    EXECUTE format('DROP SEQUENCE IF EXISTS shadowgate.%I', 'unobserved_' || OLD.seq_no);
    DELETE FROM shadowgate.txn_counts WHERE seq_no = OLD.seq_no;
    RETURN NULL;
END $$;
CREATE TRIGGER project_removed AFTER DELETE ON shadowgate.project_registry
    FOR EACH ROW EXECUTE FUNCTION shadowgate.on_project_removed();

-- The key of one finding: table, operation code, reason code ('x' cross-tenant, 'n' no context,
-- 'u' unknown project) and owner (hex of its UTF-8 bytes after 'x', 'z' for NULL). parse_key() and
-- key_owner() (below) decode it. STABLE plain SQL so that it is inlined. The owner's first 51
-- characters: the audit keeps 50, and no registered project is longer (a key stays small whatever
-- the application writes in the column).
CREATE FUNCTION shadowgate.memo_key(tid integer, op text, rc text, owner text) RETURNS text
LANGUAGE sql STABLE
AS $$ SELECT 'shadowgate.n' || tid || op || rc || '_' || coalesce('x' || encode(convert_to(left(owner, 51), 'UTF8'), 'hex'), 'z') $$;

-- Microseconds since the epoch: how the recorder names a transaction start or a statement. STABLE
-- as extract() on a timestamptz is: so declared, it is inlined where it is called (declared
-- IMMUTABLE it would not be, and would cost a SQL function call per noted row).
CREATE FUNCTION shadowgate.microseconds(t timestamptz) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT (extract(epoch FROM t) * 1000000)::bigint $$;

-- The buffer entry of a last-key setting ('<key> <statement> <context> <count>', note_row()):
-- ';<key>=<count>@<statement>'.
CREATE FUNCTION shadowgate.buffer_entry(last text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ';' || split_part(last, ' ', 1) || '=' || reverse(split_part(reverse(last), ' ', 1)) || '@' || split_part(last, ' ', 2) $$;

-- The session's declared list (declare_counted(); observe(), 008_coverage.sql): entries
-- '<project>@<transaction start, us>' (a transaction to count) and
-- '<project>@<transaction start, us>/<tid><op>' (a coverage observation), separated by ','.
-- entry_start() reads one entry's start (NULL for none); declared_entries() decodes a list (tid and
-- op NULL for a transaction), leaving out what is neither.
CREATE FUNCTION shadowgate.entry_start(entry text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT nullif(split_part(split_part(entry, '@', 2), '/', 1), '')::bigint $$;

CREATE FUNCTION shadowgate.declared_entries(list text, OUT project text, OUT start_us bigint, OUT tid integer, OUT op text)
RETURNS SETOF record
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT split_part(x, '@', 1), shadowgate.entry_start(x),
           nullif(left(split_part(x, '/', 2), -1), '')::integer, nullif(right(split_part(x, '/', 2), 1), '')
      FROM unnest(string_to_array(list, ',')) AS x
     WHERE x ~ '^[^@/]+@[0-9]{1,18}(/[0-9]{1,9}[riud])?$'
$$;

-- ## The recorder
-- Would-be denials and transaction counts leave the application's transaction at once, through a
-- dblink connection per application session (the session's "recorder"), to a session of
-- shadowgate's own that writes them in its own transactions: they survive the application's
-- ROLLBACK (or a rolled-back savepoint) and are written from READ ONLY transactions too (and from
-- a hot standby whose recorder_target reaches the primary). One query is in flight per connection:
-- the previous result is collected before the next is sent.
--
-- What the application cannot touch: dblink lives in schema shadowgate_dblink, which the
-- application role cannot use, and its functions are revoked from PUBLIC; only shadowgate's
-- SECURITY DEFINER functions (owned by the migrating superuser) open, use and read the connection.
-- The connection's name is a random secret (gen_random_uuid()): the session's buffers are settings
-- named after it, which the application cannot name (placeholders are not listed anywhere), so
-- set_config, SET, SET LOCAL, `-c` options and role settings cannot reach them. RESET ALL can
-- (it resets every setting): it loses what is buffered, never adds (see the README's known limits).
--
-- Buffers (transaction-local unless said; <s> is the connection's name):
--   shadowgate.<s>l   the key noted last: '<key> <statement> <context length>:<context> <count>' (rows of one
--                     owner in a row cost one setting; <statement>: statement_timestamp() in µs)
--   shadowgate.<s>b   the counts of the keys noted before it, not sent yet: ';<key>=<count>@<statement>'
--                     ... (a key may repeat: the recorder's rows add up; a handful of setting names
--                     per session, however many owners: PostgreSQL 15 keeps every setting name it saw)
--   shadowgate.<s>g   the sends this transaction made (as far as its settings know: see below)
--   shadowgate.<s>x   the context the buffered keys were noted under
--   shadowgate.<s>q   the text (1 kB) of the last statement that noted a row, for the finding's sample
--   shadowgate.<s>p   the finding projects already sent in this transaction: ',<project>,' ...
--   shadowgate.<s>m   '1' once the commit flush is scheduled in this transaction
--   shadowgate.<s>k   the number of new keys noted in this transaction (the first 16 go at once)
--   shadowgate.<s>d   the project this transaction declared (set_project_context()): observe() observes for it
--   shadowgate.<s>o<tid><op>   the project this transaction's (table, operation) was observed for last (008_coverage.sql)
--   shadowgate.<s>t   SESSION-level: transactions declared and not sent yet: ',<project>@<xact start, us>,'
--                     ..., and coverage observations '<project>@<xact start, us>/<tid><op>,'
--
-- When a send happens: the first finding of each project (the context for cross-tenant findings,
-- the owner otherwise) in a transaction is sent at once, waiting for the previous send if need be;
-- otherwise a new key (another owner, table or operation) is sent at once when the recorder is idle
-- and it is its statement's first or among the transaction's first 16, the buffer after waiting for
-- the recorder when it holds 16 kB, and the last key's count every 64 rows when the recorder is
-- idle. A read-write transaction that still holds something unsent sends it at COMMIT (a deferred
-- trigger, scheduled when the first unsent count is buffered) and waits for it; one whose findings
-- all went at once commits without waiting (one query in flight, a whole piece). A read-only or
-- rolled-back transaction loses what is unsent at its end: the counts and new keys noted while the
-- previous send was still in flight, at the end of its last statement.
--
-- A rolled-back savepoint: the settings go back to what they were at SAVEPOINT, the sends made
-- since cannot. What was unsent then went with the first of those sends, and would go again:
-- every send tells the recorder how many sends the transaction made before it (g) and the
-- statement it was made in, and every count its statement; a send that knows of fewer sends than
-- the recorder took comes after a rollback, and the recorder leaves out its counts of statements
-- before the one of the last send it took: those were buffered at SAVEPOINT (a statement that
-- began after that send noted after the rollback). The counts of that statement itself are kept:
-- a statement that rolls back a subtransaction of its own (an EXCEPTION block) may have noted more
-- rows of them since; they run ahead then, by what the statement had buffered at the block's
-- start (test/recorder-attacks.test.ts; before, every rolled-back savepoint after a send did so).

CREATE SCHEMA shadowgate_dblink;
REVOKE ALL ON SCHEMA shadowgate_dblink FROM PUBLIC;
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'dblink') THEN
        RAISE EXCEPTION 'extension dblink is installed in schema %: shadowgate needs it in schema shadowgate_dblink, where the application cannot call it (ALTER EXTENSION dblink SET SCHEMA shadowgate_dblink)',
            (SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'dblink');
    END IF;
END $$;
CREATE EXTENSION dblink WITH SCHEMA shadowgate_dblink;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA shadowgate_dblink FROM PUBLIC;

-- Where the recorders connect (one row): NULL, this database on this server (its socket or
-- 127.0.0.1, its port, as the migrating user), worked out at each connection, so a copy of the
-- database (CREATE DATABASE … TEMPLATE, a restore) records into itself. On a hot standby, point it
-- at the primary: UPDATE shadowgate.recorder_target SET conninfo = 'host=… dbname=… user=…' (on
-- the primary: the standby replays it; the primary's own sessions then record through it too).
-- A standby cannot record into itself (recorder_name() warns instead, test/hot-standby.test.ts).
CREATE TABLE shadowgate.recorder_target (
    one      boolean PRIMARY KEY DEFAULT true CHECK (one),
    conninfo text
);
INSERT INTO shadowgate.recorder_target DEFAULT VALUES;

-- The recorder's connection string (see recorder_target); values quoted as libpq wants them. It
-- tells the recorder this session's start (µs since the epoch), which with its pid names the
-- session in the inbox: a standby's session is not among the primary's.
CREATE FUNCTION shadowgate.recorder_conninfo() RETURNS text
LANGUAGE sql STABLE
AS $$
    SELECT coalesce(t.conninfo,
                    format('host=%s port=%s dbname=%s user=%s',
                           coalesce(nullif(trim(split_part(current_setting('unix_socket_directories'), ',', 1)), ''), '127.0.0.1'),
                           current_setting('port'),
                           '''' || replace(replace(current_database(), '\', '\\'), '''', '\''') || '''',
                           '''' || replace(replace(current_user, '\', '\\'), '''', '\''') || ''''))
           || ' application_name=''shadowgate recorder'' options=''-c synchronous_commit=off -c shadowgate.app_backend_start_us='
           || (SELECT (extract(epoch FROM a.backend_start) * 1000000)::bigint FROM pg_stat_get_activity(pg_backend_pid()) a)
           || ''''
      FROM shadowgate.recorder_target t
$$;

-- The recorder's helpers below run inside shadowgate's SECURITY DEFINER functions, whose
-- search_path they keep (no SET clause of their own: on PostgreSQL 15 each function with a SET
-- clause walks every setting the session knows when it returns, on the hot path); none is granted.

-- The name of this session's recorder connection, opened on first use (NULL when it cannot be
-- opened: nothing is recorded or counted then, with a WARNING; what is declared or noted counts as
-- unobserved: count_unobserved()). A recorder must reach a server that
-- accepts writes: on a server in recovery (a hot standby) whose recorder_target is NULL, or when
-- recorder_target names a server in recovery, it is not opened (the recorder's writes would fail
-- there, and dblink reports a failed send as a mere NOTICE: the would-be denials were lost silently).
CREATE FUNCTION shadowgate.recorder_name() RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    open_names text[] := shadowgate_dblink.dblink_get_connections();
    target text;
    name text;
    read_only boolean;
BEGIN
    IF open_names IS NOT NULL THEN
        RETURN open_names[1];  -- only shadowgate opens connections in an application session
    END IF;
    SELECT t.conninfo INTO target FROM shadowgate.recorder_target t;
    IF target IS NULL AND pg_is_in_recovery() THEN
        RAISE WARNING 'shadowgate: this server is a hot standby and shadowgate.recorder_target is NULL: nothing is recorded (point recorder_target at the primary)';
        RETURN NULL;
    END IF;
    name := 'sg' || replace(gen_random_uuid()::text, '-', '');
    BEGIN
        PERFORM shadowgate_dblink.dblink_connect(name, shadowgate.recorder_conninfo());
        IF target IS NOT NULL THEN  -- NULL: this server, not in recovery
            SELECT r.in_recovery INTO read_only
              FROM shadowgate_dblink.dblink(name, 'SELECT pg_is_in_recovery()') AS r(in_recovery boolean);
        END IF;
    EXCEPTION WHEN OTHERS THEN
        IF shadowgate_dblink.dblink_get_connections() IS NOT NULL THEN  -- opened, then the look failed
            PERFORM shadowgate_dblink.dblink_disconnect(name);
        END IF;
        RAISE WARNING 'shadowgate: cannot open the recorder connection (%): nothing is recorded', SQLERRM;
        RETURN NULL;
    END;
    IF read_only THEN
        PERFORM shadowgate_dblink.dblink_disconnect(name);
        RAISE WARNING 'shadowgate: shadowgate.recorder_target is a server in recovery (a standby): nothing is recorded (point recorder_target at the primary)';
        RETURN NULL;
    END IF;
    PERFORM shadowgate.send_unobserved(name);
    RETURN name;
END $$;

-- ### Unobserved transactions
-- A session without a recorder records no would-be denial and counts no transaction. What it
-- declares (declare_counted()) and every project whose would-be denial it loses (note_row()) counts
-- as unobserved instead: once per transaction and project, in the project's unobserved counter
-- (nextval(), no WAL, survives the transaction's ROLLBACK). nextval() is refused in a read-only
-- transaction (and on a hot standby): there the count waits in the session until it opens its
-- recorder (send_unobserved()). Both settings have fixed names, so the application can set them:
--   shadowgate.unobserved          this transaction's counted projects: ',<seq_no>,' ... (set it,
--                                  and the transaction goes uncounted: as if it had not declared)
--   shadowgate.unobserved_unsent   SESSION-level: the counts waiting: ';<seq_no>=<n>' ... (clear it,
--                                  and they are lost; RESET ALL and the session's end lose them too)
-- Never raises; a session with a recorder never calls it.
CREATE FUNCTION shadowgate.count_unobserved(p_project text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    seq integer;
    marked text := coalesce(current_setting('shadowgate.unobserved', true), '');
    ignored text;
BEGIN
    SELECT g.seq_no INTO seq FROM shadowgate.project_registry g WHERE g.project_id = p_project;
    IF seq IS NULL OR strpos(marked, ',' || seq || ',') > 0 THEN
        RETURN;
    END IF;
    ignored := set_config('shadowgate.unobserved', coalesce(nullif(marked, ''), ',') || seq || ',', true);
    PERFORM shadowgate.add_unobserved(seq, 1);
END $$;

-- p_n unobserved transactions of project seq_no (callers count each transaction once): counted
-- now in a read-write transaction, kept in the session otherwise. Never raises.
CREATE FUNCTION shadowgate.add_unobserved(p_seq_no integer, p_n integer) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    ignored text;
BEGIN
    IF current_setting('transaction_read_only') = 'off' THEN
        BEGIN
            FOR i IN 1 .. p_n LOOP
                ignored := nextval(shadowgate.txn_sequence(p_seq_no, 'unobserved'));
            END LOOP;
        EXCEPTION WHEN OTHERS THEN  -- e.g. the project removed meanwhile
            RAISE WARNING 'shadowgate: could not count an unobserved transaction (%)', SQLERRM;
        END;
        RETURN;
    END IF;
    ignored := set_config('shadowgate.unobserved_unsent', (
        SELECT coalesce(string_agg(k || '=' || least(n, 999999999), ';' ORDER BY k), '')
          FROM (SELECT split_part(e, '=', 1) AS k, sum(split_part(e, '=', 2)::bigint) AS n
                  FROM unnest(string_to_array(coalesce(current_setting('shadowgate.unobserved_unsent', true), '')
                                              || ';' || p_seq_no || '=' || p_n, ';')) AS e
                 WHERE e ~ '^[0-9]{1,9}=[0-9]{1,9}$'
                 GROUP BY 1) t), false);
END $$;

-- Sends the unobserved transactions the session kept (count_unobserved()) through its recorder,
-- just opened, and waits until they are written. Never raises.
CREATE FUNCTION shadowgate.send_unobserved(s text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    unsent text := coalesce(current_setting('shadowgate.unobserved_unsent', true), '');
    ignored text;
BEGIN
    IF unsent = '' THEN
        RETURN;
    END IF;
    BEGIN
        PERFORM shadowgate_dblink.dblink_exec(s, format('SELECT shadowgate.take_unobserved(%L)', left(unsent, 65536)));
        ignored := set_config('shadowgate.unobserved_unsent', '', false);
    EXCEPTION WHEN OTHERS THEN
        RAISE WARNING 'shadowgate: could not send the unobserved transactions to the recorder (%)', SQLERRM;
    END;
END $$;

-- The recorder's side of send_unobserved(): the counts added to the projects' unobserved counters
-- (to the carried part: a sequence cannot add n at once).
CREATE FUNCTION shadowgate.take_unobserved(p_counts text) RETURNS void
LANGUAGE sql SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE shadowgate.txn_counts c SET carried = c.carried + v.n
      FROM (SELECT split_part(e, '=', 1)::integer AS seq_no, sum(split_part(e, '=', 2)::bigint) AS n
              FROM unnest(string_to_array(p_counts, ';')) AS e
             WHERE e ~ '^[0-9]{1,9}=[0-9]{1,9}$'
             GROUP BY 1) v
     WHERE c.seq_no = v.seq_no AND c.counter = 'unobserved'
$$;

-- Collects the result of the recorder's previous query, if any (waits for it).
CREATE FUNCTION shadowgate.recorder_collect(s text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM shadowgate_dblink.dblink_get_result(s, false) AS r(v text);
    PERFORM 1 FROM shadowgate_dblink.dblink_get_result(s, false) AS r(v text);
END $$;

-- Sends the buffer (findings of this transaction and the session's declared transactions) to the
-- recorder and empties it; p_wait: until the recorder has written it. Never raises. The buffer goes
-- as it is kept (';<key>=<count>' ..., the last key's count appended): the recorder adds up the
-- counts of each key (take_findings()), not the application's session. False when the send failed:
-- the connection is closed then (recorder_failed()), s no longer names one.
CREATE FUNCTION shadowgate.recorder_send(s text, p_wait boolean) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    last text := coalesce(current_setting('shadowgate.' || s || 'l', true), '');
    buffer text := coalesce(current_setting('shadowgate.' || s || 'b', true), '')
                   || CASE WHEN last = '' OR right(last, 2) = ' 0' THEN ''
                           ELSE shadowgate.buffer_entry(last) END;
    declared text := trim(both ',' FROM coalesce(current_setting('shadowgate.' || s || 't', true), ''));
    sends integer := coalesce(nullif(current_setting('shadowgate.' || s || 'g', true), ''), '0')::integer;
    sent boolean := true;
    ignored text;
BEGIN
    IF buffer <> '' OR declared <> '' THEN
        BEGIN
            PERFORM shadowgate.recorder_collect(s);
            -- dblink reports a send it could not make (a broken connection) with a NOTICE and 0
            IF shadowgate_dblink.dblink_send_query(s, format(
                'SELECT shadowgate.take_findings(%s, %s, %s, %L, %L, %L, %L, %L, %L, %s, %s)',
                pg_backend_pid(),
                shadowgate.microseconds(now()),
                coalesce(txid_current_if_assigned()::text, 'NULL'),
                nullif(current_setting('shadowgate.' || s || 'x', true), ''),
                session_user,
                current_setting('application_name'),
                nullif(current_setting('shadowgate.' || s || 'q', true), ''),
                buffer, declared, sends, shadowgate.microseconds(statement_timestamp()))) <> 1 THEN
                RAISE EXCEPTION 'the connection is broken';
            END IF;
            IF p_wait THEN
                PERFORM shadowgate.recorder_collect(s);
            END IF;
        EXCEPTION WHEN OTHERS THEN
            RAISE WARNING 'shadowgate: could not send to the recorder (%): would-be denials lost, counted as unobserved; the next one opens another recorder', SQLERRM;
            -- the keys sent (';<key>=<count>@<statement>'), and the declared list
            PERFORM shadowgate.recorder_failed(s,
                (SELECT array_agg(split_part(e, '=', 1)) FROM unnest(string_to_array(buffer, ';')) AS e WHERE e <> ''),
                declared);
            sent := false;
        END;
    END IF;
    IF buffer <> '' OR declared <> '' THEN
        ignored := set_config('shadowgate.' || s || 'g', (sends + 1)::text, true);
    END IF;
    IF buffer <> '' THEN
        ignored := set_config('shadowgate.' || s || 'b', '', true);
        -- the last key stays, counted from 0: the next rows of its owner keep the one-setting path
        ignored := set_config('shadowgate.' || s || 'l', regexp_replace(last, '[0-9]+$', '0'), true);
    END IF;
    IF declared <> '' THEN
        ignored := set_config('shadowgate.' || s || 't', '', false);
    END IF;
    RETURN sent;
END $$;

-- A send the recorder did not take (its connection broke: its backend was terminated, the network
-- failed): the connection is closed, so that the session's next use opens another, and what the
-- send carried counts as unobserved: the transactions it declared, and the projects of this
-- transaction's findings. Never raises.
CREATE FUNCTION shadowgate.recorder_failed(s text, p_keys text[], p_declared text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    ctx text := coalesce(current_setting('shadowgate.' || s || 'x', true), '');
    this_xact bigint := shadowgate.microseconds(now());
    d record;
BEGIN
    PERFORM shadowgate_dblink.dblink_disconnect(s);
    FOR d IN SELECT g.seq_no, count(*)::integer AS n
               FROM shadowgate.declared_entries(p_declared) AS e
               JOIN shadowgate.project_registry g ON g.project_id = e.project
              WHERE e.tid IS NULL AND e.start_us <> this_xact
              GROUP BY 1 LOOP
        PERFORM shadowgate.add_unobserved(d.seq_no, d.n);  -- earlier transactions of the session
    END LOOP;
    PERFORM shadowgate.count_unobserved(t.project)     -- this one, once per project
       FROM (SELECT e.project FROM shadowgate.declared_entries(p_declared) AS e WHERE e.tid IS NULL AND e.start_us = this_xact
             UNION
             SELECT CASE x[3] WHEN 'x' THEN ctx ELSE shadowgate.key_owner(x[4]) END
               FROM unnest(p_keys) AS k, shadowgate.parse_key(k) AS x) t;
EXCEPTION WHEN OTHERS THEN
    RAISE WARNING 'shadowgate: could not count the unobserved transactions of a failed send (%)', SQLERRM;
END $$;

-- Whether the recorder is still busy with the previous send.
CREATE FUNCTION shadowgate.recorder_busy(s text) RETURNS boolean
LANGUAGE sql
AS $$ SELECT shadowgate_dblink.dblink_is_busy(s) = 1 $$;


-- A read-write transaction that noted a row sends the rest of its buffer at COMMIT (see
-- flush_at_commit()); after the row is counted: SET CONSTRAINTS … IMMEDIATE fires it at once. A
-- transaction that wrote, then turned READ ONLY (SET TRANSACTION READ ONLY), cannot schedule it
-- (no INSERT there) but commits a write: it sends at once and waits, so its counts stay exact.
CREATE FUNCTION shadowgate.schedule_commit_flush(s text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    ignored text;
BEGIN
    IF current_setting('transaction_read_only') = 'off' THEN
        ignored := set_config('shadowgate.' || s || 'm', '1', true);
        INSERT INTO shadowgate.commit_flush (app_pid) VALUES (pg_backend_pid());
    ELSIF txid_current_if_assigned() IS NOT NULL THEN
        PERFORM shadowgate.recorder_send(s, true);
    END IF;
    RETURN true;
END $$;

-- One would-be denial (the policies call it for every row they note): counted under its key in
-- this transaction's buffer, sent as said above. Never fails the application's statement. The
-- policies pass reason 'x' (a context in shadow) or 'n' (no context or an unregistered one: told
-- apart here, from the context).
-- The hot path, a row of the same key, statement and context as the row before, is a handful of
-- expressions: every plpgsql statement costs ~0.5 us here, the call itself ~2.3 us (SECURITY
-- DEFINER and the pinned search_path; bench/README.md). It trusts no code the application passes:
-- only a key note_new_key() validated is ever continued.
CREATE FUNCTION shadowgate.note_row(tid integer, op text, rc text, owner text) RETURNS boolean
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s text := (shadowgate_dblink.dblink_get_connections())[1];
    ctx text := coalesce(current_setting('shadowgate.project_id', true), '');
    -- the key, this statement and the context: what the last-key setting starts with when the row
    -- before was of the same key, statement and context
    head text := shadowgate.memo_key(tid, op, CASE WHEN rc = 'x' THEN 'x' WHEN ctx = '' THEN 'n' ELSE 'u' END, owner)
                 || ' ' || shadowgate.microseconds(statement_timestamp()) || ' ' || length(ctx) || ':' || ctx || ' ';
    last text := current_setting('shadowgate.' || s || 'l', true);
    n bigint;
    ignored text;
BEGIN
    IF starts_with(last, head) AND op IN ('r', 'i', 'u', 'w', 'd') AND rc IN ('x', 'n', 'u') THEN
        n := substr(last, length(head) + 1)::bigint + 1;
        ignored := set_config('shadowgate.' || s || 'l', head || n, true);
        IF n % 64 = 0 AND NOT shadowgate.recorder_busy(s) THEN
            PERFORM shadowgate.recorder_send(s, false);
        ELSIF n = 1 AND coalesce(current_setting('shadowgate.' || s || 'm', true), '') = '' THEN
            RETURN shadowgate.schedule_commit_flush(s);  -- a count the COMMIT must send
        END IF;
        RETURN true;
    END IF;
    RETURN shadowgate.note_new_key(s, tid, op, rc, owner, ctx, head);
END $$;

-- A row whose key, statement or context differs from the row before (note_row()).
-- One row changed by an UPDATE or DELETE is one finding: PostgreSQL checks such a row against the
-- UPDATE/DELETE policy, then the SELECT policy, and an updated row's new version against the
-- UPDATE and SELECT policies again (u r w r, d r; i r for INSERT … RETURNING), in a row: a SELECT (r)
-- or new-row (w) note of the same table, owner and statement right after an UPDATE, DELETE or
-- INSERT note is that row's, not counted.
CREATE FUNCTION shadowgate.note_new_key(s text, tid integer, op text, rc text, owner text, ctx text, head text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    reason text := CASE WHEN rc = 'x' THEN 'x' WHEN ctx = '' THEN 'n' ELSE 'u' END;
    k text := shadowgate.memo_key(tid, op, reason, owner);
    here text := substr(head, length(k) + 1);  -- ' <statement> <length>:<context> '
    last text;
    statement_first boolean;
    new_keys integer;
    project text;
    sent text;
    ignored text;
BEGIN
    -- only the codes the policies pass: the application can call it with any text, and a key is
    -- kept in the buffers between separators (' ', ';', '='), so a forged code could otherwise
    -- smuggle a count for a real key into them
    IF NOT coalesce(tid IS NOT NULL AND op IN ('r', 'i', 'u', 'w', 'd') AND rc IN ('x', 'n', 'u'), false) THEN
        RETURN true;
    END IF;
    IF s IS NULL THEN
        s := shadowgate.recorder_name();
        IF s IS NULL THEN  -- no recorder: this would-be denial is lost, its project's transaction unobserved
            PERFORM shadowgate.count_unobserved(CASE WHEN reason = 'x' THEN ctx ELSE owner END);
            RETURN true;
        END IF;
    END IF;
    last := coalesce(current_setting('shadowgate.' || s || 'l', true), '');
    IF op IN ('r', 'w') AND split_part(last, ' ', 1) IN (shadowgate.memo_key(tid, 'u', reason, owner),
                                                          shadowgate.memo_key(tid, 'd', reason, owner),
                                                          shadowgate.memo_key(tid, 'i', reason, owner))
       AND substr(last, strpos(last, ' '), length(here)) = here THEN
        RETURN true;  -- the row this statement's UPDATE, DELETE or INSERT just noted
    END IF;
    -- another key: the last one's count joins the buffer (one context per buffer)
    IF ctx <> coalesce(nullif(current_setting('shadowgate.' || s || 'x', true), ''), ctx) THEN
        IF NOT shadowgate.recorder_send(s, false) THEN  -- the recorder failed and is closed: this row too
            PERFORM shadowgate.count_unobserved(CASE WHEN rc = 'x' THEN ctx ELSE owner END);
            RETURN true;
        END IF;
        last := '';
    END IF;
    ignored := set_config('shadowgate.' || s || 'x', ctx, true);
    IF last <> '' AND right(last, 2) <> ' 0' THEN
        ignored := set_config('shadowgate.' || s || 'b', coalesce(current_setting('shadowgate.' || s || 'b', true), '')
                              || shadowgate.buffer_entry(last), true);
    END IF;
    statement_first := split_part(last, ' ', 2) <> split_part(here, ' ', 2);
    IF statement_first THEN  -- a statement that had not noted yet
        ignored := set_config('shadowgate.' || s || 'q', left(current_query(), 1024), true);
    END IF;
    ignored := set_config('shadowgate.' || s || 'l', head || '1', true);
    -- (a ',' in a forged context or owner must not make another project pass for sent)
    project := replace(CASE WHEN reason = 'x' THEN ctx ELSE coalesce(owner, '') END, ',', ' ');
    sent := coalesce(current_setting('shadowgate.' || s || 'p', true), '');
    IF strpos(sent, ',' || project || ',') = 0 THEN
        -- the first finding of this project in this transaction: sent now, whatever follows
        ignored := set_config('shadowgate.' || s || 'p', coalesce(nullif(sent, ''), ',') || project || ',', true);
        PERFORM shadowgate.recorder_send(s, false);
        RETURN true;
    ELSE
        -- a new key goes at once when the recorder is idle and it is the first of its statement or
        -- among the transaction's first 16: a read-only or rolled-back transaction then loses no
        -- owner it read in a statement of its own, only those noted while a send was in flight or
        -- after the 16th in one statement; the rest go every 16 kB (a statement over 20,000 owners
        -- makes 60 sends, not one per owner)
        new_keys := coalesce(nullif(current_setting('shadowgate.' || s || 'k', true), '')::integer, 0) + 1;
        ignored := set_config('shadowgate.' || s || 'k', new_keys::text, true);
        IF octet_length(coalesce(current_setting('shadowgate.' || s || 'b', true), '')) >= 16384  -- octet_length: O(1)
           OR ((statement_first OR new_keys <= 16) AND NOT shadowgate.recorder_busy(s)) THEN
            PERFORM shadowgate.recorder_send(s, false);
            RETURN true;
        END IF;
    END IF;
    -- something is buffered that the COMMIT of a read-write transaction must send (a transaction
    -- whose findings all went at once does not wait at COMMIT, nor take an xid for it)
    IF coalesce(current_setting('shadowgate.' || s || 'm', true), '') = '' THEN
        RETURN shadowgate.schedule_commit_flush(s);
    END IF;
    RETURN true;
END $$;

-- A read-write transaction that holds unsent findings sends them at COMMIT (or SET CONSTRAINTS …
-- IMMEDIATE), and waits until the recorder has written them: its counts are exact.
CREATE UNLOGGED TABLE shadowgate.commit_flush (app_pid integer NOT NULL);  -- emptied by absorb_audit()

CREATE FUNCTION shadowgate.flush_at_commit() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s text := shadowgate.recorder_name();
    ignored text;
BEGIN
    IF s IS NOT NULL THEN
        -- every piece written before COMMIT returns: the absorb then takes the transaction whole
        IF shadowgate.recorder_send(s, true) THEN
            PERFORM shadowgate.recorder_collect(s);
        END IF;
        -- rows noted after SET CONSTRAINTS … IMMEDIATE start a key again, and schedule this again
        ignored := set_config('shadowgate.' || s || 'm', '', true);
        ignored := set_config('shadowgate.' || s || 'l', '', true);
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER flush_at_commit AFTER INSERT ON shadowgate.commit_flush
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION shadowgate.flush_at_commit();

-- The application declared a project in shadow (set_project_context()): this transaction counts for
-- it once, when the recorder receives it (with the transaction's first finding, or with others every
-- 2 kB of entries, ~45-100 transactions, or second). The recorder counts each (session, transaction
-- start, project) once. Without a recorder it counts as unobserved (count_unobserved()). On the path
-- of every transaction in shadow: few expressions, one send per 2 kB of entries.
CREATE FUNCTION shadowgate.declare_counted(p_project text) RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    s text := (shadowgate_dblink.dblink_get_connections())[1];
    -- ',<project>@<transaction start, us>,' ...: this transaction's entry (the context is set here)
    entry text := set_config('shadowgate.project_id', coalesce(p_project, ''), true) || '@' || shadowgate.microseconds(now()) || ',';
    declared text := current_setting('shadowgate.' || s || 't', true);
BEGIN
    IF NOT coalesce(shadowgate.is_project_name(p_project), false) THEN  -- not a project's name: nothing to count
        RETURN p_project;
    END IF;
    IF s IS NULL THEN
        RETURN shadowgate.declare_first(p_project);
    END IF;
    -- the periodic send goes before this transaction's entry is added: a transaction that rolls
    -- back is never counted (its entry is undone with it); the first entry's transaction start (an
    -- entry may be a coverage observation, '…@<start>/<tid><op>')
    IF (octet_length(declared) > 2048
        OR shadowgate.entry_start(split_part(declared, ',', 2)) < shadowgate.microseconds(now()) - 1000000)
       AND NOT shadowgate.recorder_busy(s) THEN
        PERFORM shadowgate.recorder_send(s, false);
        declared := '';
    END IF;
    -- not added again right after itself (declared twice in a row: the recorder would count it once)
    IF NOT coalesce(right(declared, length(entry) + 1) = ',' || entry, false) THEN
        declared := set_config('shadowgate.' || s || 't', coalesce(nullif(declared, ''), ',') || entry, false);
    END IF;
    -- the project this transaction declared: what observe() may observe for (008_coverage.sql)
    declared := set_config('shadowgate.' || s || 'd', p_project, true);
    RETURN p_project;
END $$;

-- declare_counted() in a session without its recorder yet: opened here, then counted (unobserved if
-- it cannot be).
CREATE FUNCTION shadowgate.declare_first(p_project text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    IF shadowgate.recorder_name() IS NULL THEN  -- no recorder: not counted, unobserved
        PERFORM shadowgate.count_unobserved(p_project);
        RETURN p_project;
    END IF;
    RETURN shadowgate.declare_counted(p_project);
END $$;

-- Sends what this session has buffered (its declared transactions, this transaction's findings)
-- and waits until the recorder has written it. For the application at the end of a session or
-- before a pool parks a connection: an idle session's last declared transactions are otherwise
-- counted with its next transaction. Harmless to call at any time.
CREATE FUNCTION shadowgate.flush_recorder() RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF shadowgate_dblink.dblink_get_connections() IS NOT NULL THEN
        PERFORM shadowgate.recorder_collect(shadowgate.recorder_name());
        PERFORM shadowgate.recorder_send(shadowgate.recorder_name(), true);
    END IF;
END $$;

-- The recorder's side (runs in the recorder's session, as the migrating user): one inbox row for
-- what one send carried, and the declared transactions counted, each (session, transaction start,
-- project) once: the recorder session remembers the last transaction start it counted per project
-- (transaction starts only grow within a session).
CREATE FUNCTION shadowgate.take_findings(p_app_pid integer, p_xact_start_us bigint,
                                         p_txid bigint, p_context text, p_user text, p_application text,
                                         p_statement text, p_buffer text, p_declared text,
                                         p_sends_before integer, p_statement_us bigint)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    epoch constant timestamptz := 'epoch';
    -- the application session's start, from its connection string (recorder_conninfo()): this
    -- session serves that one alone, which may be on another server (a hot standby)
    app_start timestamptz := epoch + nullif(current_setting('shadowgate.app_backend_start_us', true), '')::bigint
                                     * interval '1 microsecond';
    -- this transaction's sends so far and the statement of the last one: '<xact start> <sends> <statement>'
    took text[] := string_to_array(current_setting('shadowgate.took', true), ' ');
    -- the application's settings went back to a savepoint set before sends it had made: what they
    -- held then went with the first of those sends, so counts of statements before the last send's
    -- are left out (see "A rolled-back savepoint" in the header of the recorder)
    replayed_before bigint := CASE WHEN took[1]::bigint = p_xact_start_us AND p_sends_before < took[2]::integer
                                   THEN took[3]::bigint END;
    d record;
    keys text[];
    counts bigint[];
    taken bigint;  -- the last transaction start an observation marker took
    ignored text;
BEGIN
    ignored := set_config('shadowgate.took', p_xact_start_us || ' ' || (p_sends_before + 1) || ' ' || p_statement_us, false);
    -- the buffer: ';<key>=<count>@<statement>' ..., a key possibly more than once: one entry per key, counts added
    SELECT array_agg(k ORDER BY k), array_agg(n ORDER BY k) INTO keys, counts
      FROM (SELECT split_part(e, '=', 1) AS k, sum(split_part(split_part(e, '=', 2), '@', 1)::bigint)::bigint AS n
              FROM unnest(string_to_array(p_buffer, ';')) AS e
             WHERE e <> '' AND coalesce(nullif(split_part(e, '@', 2), '')::bigint >= replayed_before, true)
             GROUP BY 1) t
     WHERE n <> 0;
    IF cardinality(keys) > 0 THEN
        INSERT INTO shadowgate.audit_inbox
            (txid, app_txid, context_project_id, user_name, session_id, keys, counts,
             app_pid, app_backend_start, xact_start, recorder_pid, statement, application_name)
        VALUES (coalesce(p_txid, txid_current()), p_txid, left(p_context, 51), p_user,  -- 51: longer than any project
                p_app_pid || '.' || extract(epoch FROM app_start)::bigint, keys, counts,
                p_app_pid, app_start,
                epoch + p_xact_start_us * interval '1 microsecond', pg_backend_pid(),
                left(p_statement, 1024), left(p_application, 64));
        -- a wake-up for the producer, at most one per recorder every 50 ms: a NOTIFY serialises
        -- commits on a global lock; the producer drains again shortly after each wake-up, so a
        -- skipped NOTIFY does not leave rows waiting. Nor while the NOTIFY queue is half full (a
        -- session listening idle in a transaction holds it): a full queue would fail this commit and
        -- lose the rows; the producer polls every second anyway
        IF clock_timestamp() >= coalesce(nullif(current_setting('shadowgate.notify_after', true), '')::timestamptz, '-infinity')
           AND pg_notification_queue_usage() < 0.5 THEN
            PERFORM pg_notify('shadowgate', 'audit');
            ignored := set_config('shadowgate.notify_after', (clock_timestamp() + interval '50 milliseconds')::text, false);
        END IF;
    END IF;
    -- declared transactions '<project>@<start>': per project, those that start after the last one
    -- this session counted, each start once; observations '<project>@<start>/<tid><op>' (coverage,
    -- 008_coverage.sql) go to the coverage inbox
    FOR d IN SELECT g.seq_no, count(DISTINCT e.start_us) AS n, max(e.start_us) AS last_us
               FROM shadowgate.declared_entries(p_declared) AS e
               JOIN shadowgate.project_registry g ON g.project_id = e.project
              WHERE e.tid IS NULL
                AND e.start_us > coalesce(nullif(current_setting('shadowgate.counted_' || g.seq_no, true), '')::bigint, 0)
              GROUP BY g.seq_no LOOP
        PERFORM nextval(shadowgate.txn_sequence(d.seq_no)) FROM generate_series(1, d.n);
        ignored := set_config('shadowgate.counted_' || d.seq_no, d.last_us::text, false);
    END LOOP;
    -- observations: each (project, table, operation) once per transaction start, across sends too
    -- (a ROLLBACK in the application restores the session's list after a send, which sends it
    -- again): the recorder session remembers the last start it took per registered project and
    -- protected table
    IF strpos(p_declared, '/') > 0 THEN
        FOR d IN SELECT e.project, e.tid, e.op, array_agg(DISTINCT e.start_us) AS starts,
                        'shadowgate.observed_' || g.seq_no || '_' || e.tid || e.op AS marker
                   FROM shadowgate.declared_entries(p_declared) AS e
                   JOIN shadowgate.project_registry g ON g.project_id = e.project
                   JOIN shadowgate.protected_tables t ON t.id = e.tid
                  GROUP BY 1, 2, 3, 5 LOOP
            taken := coalesce(nullif(current_setting(d.marker, true), '')::bigint, 0);
            INSERT INTO shadowgate.coverage_inbox (txid, context_project_id, user_name, table_id, op, app_xact)
            SELECT txid_current(), d.project, p_user, d.tid, d.op,
                   p_app_pid || '.' || extract(epoch FROM app_start)::bigint || '.' || st
              FROM unnest(d.starts) AS st
             WHERE st > taken;
            ignored := set_config(d.marker, greatest(taken, (SELECT max(st) FROM unnest(d.starts) AS st))::text, false);
        END LOOP;
    END IF;
END $$;


-- The inbox: what the recorders took, one row per send: keys and counts that add up per
-- (transaction, key). A transaction is identified by its session (app_pid, app_backend_start) and
-- its start (xact_start); absorb_audit() takes its rows once it has ended (see transaction_ended())
-- and turns each key into one rls_audit_log row. UNLOGGED: the recorder's commits flush no WAL.
-- The price: a crash of PostgreSQL (not a clean restart) empties it, losing what had not been
-- absorbed yet; `shadowgate run` absorbs on every wake-up and at least every second.
CREATE UNLOGGED TABLE shadowgate.audit_inbox (
    txid               bigint NOT NULL,  -- the application's transaction id, or the recorder's when it had none
    app_txid           bigint,           -- the application's transaction id when it had one
    logged_at          timestamptz NOT NULL DEFAULT now(),
    context_project_id text,
    user_name          text,
    session_id         text,
    keys               text[] NOT NULL,
    counts             bigint[] NOT NULL,
    app_pid            integer,
    app_backend_start  timestamptz,
    xact_start         timestamptz,
    recorder_pid       integer,
    statement          text,
    application_name   text
) WITH (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 10000);  -- emptied all day long

-- Whether an inbox row's transaction has ended and its recorder is not writing a piece of it: the
-- application session is gone or runs another transaction, and the recorder is not active. (A
-- session has one query in flight to its recorder at a time: once the recorder is idle after the
-- transaction ended, every piece the transaction sent has been written.)
CREATE FUNCTION shadowgate.transaction_ended(p_app_pid integer, p_backend_start timestamptz,
                                             p_xact_start timestamptz, p_recorder_pid integer) RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp  -- every session's activity
AS $$
    SELECT NOT EXISTS (SELECT 1 FROM pg_stat_get_activity(NULL) a
                        WHERE (a.pid = p_app_pid AND a.backend_start = p_backend_start AND a.xact_start = p_xact_start)
                           OR (a.pid = p_recorder_pid AND a.state = 'active'))
$$;


-- The lock that orders the readers and writers of the violation window: absorb_audit() (folds rows
-- into the window) and everything that moves a shadow clock (recounts the window). Without it, a
-- clock reset could recount while an absorb is folding and overwrite rows that belong to the new
-- window. Taken first, before any row lock, so that the lock order is the same everywhere.
CREATE FUNCTION shadowgate.lock_audit() RETURNS void
LANGUAGE sql
AS $$ SELECT pg_advisory_xact_lock(hashtext('shadowgate.absorb_audit')) $$;

-- The key decoder (the encoder is memo_key(), above): the parts of a key memo_key() writes, table
-- id, operation, reason and owner code ('z' for NULL, or 'x' and the hex of the owner's UTF-8
-- bytes); NULL for any other key, which only the application can have forged (it can set the
-- settings the policies use), including an owner whose bytes are not UTF-8 or hold a NUL (text
-- cannot hold those). A match without capture groups and split_part(): a capturing regexp_match()
-- costs several times more per key.
CREATE FUNCTION shadowgate.parse_key(k text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT
AS $$
    SELECT CASE WHEN k ~ ('^shadowgate\.n[0-9]{1,9}[a-z][a-z]_(z|x('
                          || '0[1-9a-f]|[1-7][0-9a-f]'                                         -- U+0001..U+007F
                          || '|(c[2-9a-f]|d[0-9a-f])[89ab][0-9a-f]'                             -- 2 bytes
                          || '|e0[ab][0-9a-f][89ab][0-9a-f]|ed[89][0-9a-f][89ab][0-9a-f]'       -- 3 bytes: no overlong
                          || '|e[1-9a-cef][89ab][0-9a-f][89ab][0-9a-f]'                         --   form, no surrogate
                          || '|f0[9ab][0-9a-f][89ab][0-9a-f][89ab][0-9a-f]'                     -- 4 bytes, up to U+10FFFF
                          || '|f48[0-9a-f][89ab][0-9a-f][89ab][0-9a-f]'
                          || '|f[1-3][89ab][0-9a-f][89ab][0-9a-f][89ab][0-9a-f])*)$')
           THEN ARRAY[substr(split_part(k, '_', 1), 13, length(split_part(k, '_', 1)) - 14),  -- after 'shadowgate.n'
                      right(left(split_part(k, '_', 1), -1), 1), right(split_part(k, '_', 1), 1), split_part(k, '_', 2)]
           END
$$;

-- The row owner of a parsed key's owner code. Never raises for a code parse_key() returned, in a
-- UTF-8 database (elsewhere a character the database cannot hold raises: see absorb_audit()).
CREATE FUNCTION shadowgate.key_owner(code text) RETURNS text
LANGUAGE sql STABLE STRICT
AS $$ SELECT CASE WHEN code = 'z' THEN NULL ELSE convert_from(decode(substr(code, 2), 'hex'), 'UTF8') END $$;

-- The SQL command of an operation code (003's table of codes): 'u' and 'w', an update's old and new
-- row, are both UPDATE.
CREATE FUNCTION shadowgate.operation_name(op text) RETURNS text
LANGUAGE sql IMMUTABLE
AS $$ SELECT CASE op WHEN 'r' THEN 'SELECT' WHEN 'i' THEN 'INSERT' WHEN 'd' THEN 'DELETE' ELSE 'UPDATE' END $$;

-- Whether a statement may have noted rows that it then discards, so that enforcing would not have
-- changed its result for them ("plan-dependent" findings): policies are checked while rows are
-- scanned, before a join, a MERGE condition, a semi-join (EXISTS, IN (SELECT …)) or a set operation
-- decides which rows the statement keeps, and before a WHERE condition that is not leakproof (an
-- operator like %, @>, @@, ~, LIKE, or a function call). Judged on the statement's text (its first
-- kB): it can say "may" of a statement whose plan happened to filter first; it says nothing of rows
-- discarded by a LIMIT or by the application.
CREATE FUNCTION shadowgate.statement_may_discard(statement text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
    SELECT coalesce(statement ~* '\m(join|merge|exists|union|intersect|except|lateral)\M|\min\s*\(\s*select\M|\mfrom\M[^()]*?\w\s*,\s*\w'
                    OR substring(statement FROM '(?i)\mwhere\M(.*)$') ~* '%|@>|<@|@@|~|\m(i?like|similar)\M|\m(?!(in|any|all|and|or|not)\M)\w+\s*\(',
                    false)
$$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA shadowgate FROM PUBLIC;

-- Down Migration
DROP SCHEMA shadowgate_dblink CASCADE;
