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
-- are attributed by transaction, not by time: rows of transactions that had committed before the
-- reset (visible in its snapshot) are out of the new window, everything committed later is in,
-- however long other transactions on the server stay open ([pipeline] item: no global horizon).
-- Callers hold lock_audit().
CREATE FUNCTION shadowgate.start_shadow_clock(p text, p_at timestamptz) RETURNS void
LANGUAGE sql
AS $$
    UPDATE shadowgate.rls_migration_status s
       SET shadow_started_at = p_at,
           shadow_txn_baseline = shadowgate.txn_count(g.seq_no),
           shadow_started_snapshot = txid_current_snapshot()
      FROM shadowgate.project_registry g
     WHERE g.project_id = s.project_id AND s.project_id = p;
    UPDATE shadowgate.violation_fingerprints f
       SET window_occurrences = coalesce((
             SELECT sum(a.row_count) FROM shadowgate.rls_audit_log a
              WHERE a.would_be_denied AND a.project_id = f.project_id
                AND a.txid >= txid_snapshot_xmin(txid_current_snapshot())  -- the index's range; exactly:
                AND NOT txid_visible_in_snapshot(a.txid, txid_current_snapshot())
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

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA shadowgate FROM PUBLIC;

-- Down Migration
