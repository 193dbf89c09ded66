-- Up Migration
-- Recording: transaction counters, the per-transaction memo of would-be denials, the UNLOGGED audit
-- inbox and the key encoder and decoder. (Runs before 003_policies.sql: the policy functions call
-- these.) 007_intake.sql empties the inbox into rls_audit_log rows and fingerprints (absorb_audit()).

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

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA shadowgate FROM PUBLIC;

-- Down Migration
