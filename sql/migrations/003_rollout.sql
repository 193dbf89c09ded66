-- Up Migration
-- Phase changes, clock resets, reviews and the event outbox. Each operation is one function, so a
-- caller (CLI, worker, a DBA in psql) cannot half-apply it.

-- Every event the pipeline reacts to wakes the producer with one NOTIFY per transaction (identical
-- payloads merge); the event rows themselves are the truth, NOTIFY is only a hint.
CREATE FUNCTION shadowgate.notify_events() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_notify('shadowgate', 'event');
    RETURN NULL;
END $$;
CREATE TRIGGER events_notify AFTER INSERT ON shadowgate.events
    FOR EACH STATEMENT EXECUTE FUNCTION shadowgate.notify_events();

CREATE FUNCTION shadowgate.on_permission_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    r record := CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
BEGIN
    INSERT INTO shadowgate.events (kind, project_id, payload)
    VALUES ('permission_change', r.reader_project_id,
            jsonb_build_object('target', r.target_project_id, 'op', lower(TG_OP)));
    RETURN NULL;
END $$;
CREATE TRIGGER permission_change AFTER INSERT OR DELETE ON shadowgate.project_read_permissions
    FOR EACH ROW EXECUTE FUNCTION shadowgate.on_permission_change();

CREATE FUNCTION shadowgate.on_recorded_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    INSERT INTO shadowgate.events (kind, project_id, payload)
    VALUES ('code_change', NEW.project_id,
            jsonb_build_object('change_id', NEW.id, 'kind', NEW.kind, 'ref', NEW.ref));
    RETURN NULL;
END $$;
CREATE TRIGGER recorded_change AFTER INSERT ON shadowgate.changes
    FOR EACH ROW EXECUTE FUNCTION shadowgate.on_recorded_change();

-- The lock that orders the readers and writers of the violation window: absorb_audit() (folds rows
-- into the window) and everything that moves a shadow clock (recounts the window). Without it, a
-- clock reset could recount while an absorb is folding and overwrite rows that belong to the new
-- window. Taken first, before any row lock, so that the lock order is the same everywhere.
CREATE FUNCTION shadowgate.lock_audit() RETURNS void
LANGUAGE sql
AS $$ SELECT pg_advisory_xact_lock(hashtext('shadowgate.absorb_audit')) $$;

-- Transactions counted for a project since its shadow clock started.
CREATE FUNCTION shadowgate.shadow_transactions(p text) RETURNS bigint
LANGUAGE sql STABLE
AS $$
    SELECT shadowgate.txn_count(g.seq_no) - s.shadow_txn_baseline
           + coalesce((SELECT sum(c.calls) FROM shadowgate.tool_call_counts c
                        WHERE c.project_id = g.project_id AND c.bucket >= s.shadow_started_at), 0)
      FROM shadowgate.project_registry g
      JOIN shadowgate.rls_migration_status s ON s.project_id = g.project_id
     WHERE g.project_id = p AND s.shadow_started_at IS NOT NULL
$$;

-- Starts the shadow clock afresh: transactions and violations are counted from p_at on. Violations
-- are attributed by transaction id, not by time: rows of transactions that had all finished before
-- the reset (below the snapshot's xmin) are out of the new window, everything later is in.
-- Callers hold lock_audit().
CREATE FUNCTION shadowgate.start_shadow_clock(p text, p_at timestamptz) RETURNS void
LANGUAGE sql
AS $$
    UPDATE shadowgate.rls_migration_status s
       SET shadow_started_at = p_at,
           shadow_txn_baseline = shadowgate.txn_count(g.seq_no),
           shadow_started_txid = txid_snapshot_xmin(txid_current_snapshot())
      FROM shadowgate.project_registry g
     WHERE g.project_id = s.project_id AND s.project_id = p;
    UPDATE shadowgate.violation_fingerprints f
       SET window_occurrences = coalesce((
             SELECT sum(a.row_count) FROM shadowgate.rls_audit_log a
              WHERE a.would_be_denied AND a.project_id = f.project_id
                AND a.txid >= txid_snapshot_xmin(txid_current_snapshot())
                AND a.table_name = f.table_name AND a.operation = f.operation
                AND a.row_project_id IS NOT DISTINCT FROM f.row_project_id
                AND a.denied_reason = f.denied_reason), 0)
     WHERE f.id IN (SELECT id FROM shadowgate.violation_fingerprints
                     WHERE project_id = p ORDER BY fingerprint FOR UPDATE);
$$;

-- Resets the shadow clock of a project in shadow (no phase change). Returns false when the project
-- is not in shadow (nothing to reset).
CREATE FUNCTION shadowgate.reset_shadow_clock(p text, p_at timestamptz, p_actor text, p_reason text)
RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM shadowgate.lock_audit();
    PERFORM 1 FROM shadowgate.rls_migration_status
     WHERE project_id = p AND migration_phase = 'shadow' FOR UPDATE;
    IF NOT FOUND THEN RETURN false; END IF;
    PERFORM shadowgate.start_shadow_clock(p, p_at);
    UPDATE shadowgate.rls_migration_status SET updated_at = p_at WHERE project_id = p;
    INSERT INTO shadowgate.rls_phase_history (project_id, kind, from_phase, to_phase, actor, reason, at)
    VALUES (p, 'clock_reset', 'shadow', 'shadow', p_actor, p_reason, p_at);
    INSERT INTO shadowgate.events (kind, project_id, payload)
    VALUES ('clock_reset', p, jsonb_build_object('reason', p_reason, 'at', p_at));
    RETURN true;
END $$;

-- Moves a project to another phase (the caller has checked that the move is allowed).
CREATE FUNCTION shadowgate.set_phase(p text, p_to shadowgate.migration_phase_enum, p_at timestamptz,
                                     p_actor text, p_reason text, p_forced boolean)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_from shadowgate.migration_phase_enum;
BEGIN
    PERFORM shadowgate.lock_audit();
    SELECT migration_phase INTO v_from FROM shadowgate.rls_migration_status
     WHERE project_id = p FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown project "%"', p USING ERRCODE = 'no_data_found';
    END IF;
    UPDATE shadowgate.rls_migration_status
       SET migration_phase = p_to,
           rls_enabled = p_to <> 'pending',
           updated_at = p_at,
           migrated_at = CASE WHEN p_to IN ('enforcing', 'complete') THEN p_at ELSE migrated_at END,
           shadow_started_at = CASE WHEN p_to = 'shadow' THEN shadow_started_at END
     WHERE project_id = p;
    IF p_to = 'shadow' THEN
        PERFORM shadowgate.start_shadow_clock(p, p_at);
    END IF;
    IF p_to <> 'shadow' THEN
        -- the lingering deadline belongs to a shadow phase
        UPDATE shadowgate.timers SET closed_at = p_at
         WHERE kind = 'lingering' AND project_id = p AND closed_at IS NULL;
    END IF;
    INSERT INTO shadowgate.rls_phase_history (project_id, kind, from_phase, to_phase, forced, actor, reason, at)
    VALUES (p, 'phase', v_from, p_to, p_forced, p_actor, p_reason, p_at);
    INSERT INTO shadowgate.events (kind, project_id, payload)
    VALUES ('phase_change', p, jsonb_build_object('from', v_from, 'to', p_to, 'at', p_at));
END $$;

-- Records the root cause of a fingerprint. code-fix and acl-change reset the project's shadow clock;
-- a false positive stays exempt when it recurs.
CREATE FUNCTION shadowgate.review_fingerprint(p_id bigint, p_resolution text, p_ref text, p_rationale text,
                                              p_actor text, p_at timestamptz)
RETURNS text
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    f shadowgate.violation_fingerprints;
BEGIN
    SELECT * INTO f FROM shadowgate.violation_fingerprints WHERE id = p_id FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown fingerprint %', p_id USING ERRCODE = 'no_data_found';
    END IF;
    UPDATE shadowgate.violation_fingerprints
       SET open_since = NULL, resolution = p_resolution, ref = p_ref, rationale = p_rationale,
           reviewed_by = p_actor, reviewed_at = p_at
     WHERE id = p_id;
    INSERT INTO shadowgate.reviews (fingerprint_id, resolution, ref, rationale, actor, at)
    VALUES (p_id, p_resolution, p_ref, p_rationale, p_actor, p_at);
    UPDATE shadowgate.timers SET closed_at = p_at
     WHERE kind = 'investigation' AND subject = p_id::text AND closed_at IS NULL;
    INSERT INTO shadowgate.events (kind, project_id, payload)
    VALUES ('review', f.project_id, jsonb_build_object('fingerprint_id', p_id, 'resolution', p_resolution));
    IF p_resolution IN ('code-fix', 'acl-change') THEN
        PERFORM shadowgate.reset_shadow_clock(f.project_id, p_at, p_actor,
            format('%s for fingerprint %s (%s)', p_resolution, p_id, p_ref));
    END IF;
    RETURN f.project_id;
END $$;

-- The parts of a key written by memo_key() (002): table id, operation, reason, owner code; NULL
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
        SELECT a.*, s.shadow_started_at, s.shadow_started_txid,
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
               coalesce(sum(row_count) FILTER (WHERE shadow_started_at IS NOT NULL AND txid >= shadow_started_txid), 0) AS win
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
