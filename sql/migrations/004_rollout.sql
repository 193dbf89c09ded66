-- Up Migration
-- Phase changes, clock resets, reviews, recorded changes, tool calls and the event outbox. Each
-- operation is one function, so a caller (CLI, worker, a DBA in psql) cannot half-apply it, and
-- every clock reset happens in the transaction that records its cause.
--
-- Time: the functions take the time of the operation (p_at) from their caller. The CLI passes the
-- real time and takes no other for anything that changes state; the demo and the tests pass their
-- own clock in-process. A reset never moves a shadow clock back in time.

-- The rollout's columns on 001's tables live here, with the functions that write them.
-- Evidence of a phase decision (set_phase): the criteria and their values when it was taken, the
-- clock resets and the fingerprints that led there. Written once: see history_is_immutable().
ALTER TABLE shadowgate.rls_phase_history ADD COLUMN evidence jsonb;
-- Where a project's transactions come from: the database (set_project_context) or ingested tool
-- calls (ingest-calls). One source per project, so the same activity is never counted twice.
ALTER TABLE shadowgate.project_registry ADD COLUMN transactions_from text NOT NULL DEFAULT 'database'
    CHECK (transactions_from IN ('database', 'tool-calls'));
-- The shadow window an eligibility state belongs to, and the last moment (in that window) the
-- project was seen not eligible: it may have become eligible any time after, so the 14-day rule's
-- 3 business days start from it at the latest (a worker that was down never moves a deadline later).
ALTER TABLE shadowgate.eligibility_state ADD COLUMN window_started_at timestamptz;
ALTER TABLE shadowgate.eligibility_state ADD COLUMN ineligible_seen_at timestamptz;

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

-- A decision keeps its evidence: a phase decision is never changed, no history row is deleted while
-- its project exists, and a clock reset can only have its reason amended (drift detection adds the
-- further changes of the transaction that caused it: 005_reach.sql).
CREATE FUNCTION shadowgate.history_is_immutable() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    IF TG_OP = 'DELETE' AND NOT EXISTS (SELECT 1 FROM shadowgate.project_registry WHERE project_id = OLD.project_id) THEN
        RETURN OLD;  -- the cascade of a removed project
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.kind = 'clock_reset'
       AND (to_jsonb(NEW) - 'reason') = (to_jsonb(OLD) - 'reason') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'shadowgate.rls_phase_history is append-only (history row %)', OLD.id
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER history_immutable BEFORE UPDATE OR DELETE ON shadowgate.rls_phase_history
    FOR EACH ROW EXECUTE FUNCTION shadowgate.history_is_immutable();

-- Transactions counted for a project since its shadow clock started, from its one source.
CREATE FUNCTION shadowgate.shadow_transactions(p text) RETURNS bigint
LANGUAGE sql STABLE
AS $$
    SELECT CASE g.transactions_from
             WHEN 'tool-calls' THEN coalesce((SELECT sum(c.calls) FROM shadowgate.tool_call_counts c
                                               WHERE c.project_id = g.project_id AND c.bucket >= s.shadow_started_at), 0)
             ELSE shadowgate.txn_count(g.seq_no) - s.shadow_txn_baseline END
      FROM shadowgate.project_registry g
      JOIN shadowgate.rls_migration_status s ON s.project_id = g.project_id
     WHERE g.project_id = p AND s.shadow_started_at IS NOT NULL
$$;

-- Transactions declared for a project (or with a would-be denial of it) since its shadow clock
-- started that shadowgate could not observe: their session had no recorder (count_unobserved()).
-- Not counted in shadow_transactions(), whatever the project's source.
CREATE FUNCTION shadowgate.shadow_unobserved(p text) RETURNS bigint
LANGUAGE sql STABLE
AS $$
    SELECT shadowgate.txn_count(g.seq_no, 'unobserved') - s.shadow_unobserved_baseline
      FROM shadowgate.project_registry g
      JOIN shadowgate.rls_migration_status s ON s.project_id = g.project_id
     WHERE g.project_id = p AND s.shadow_started_at IS NOT NULL
$$;

-- Starts the shadow clock afresh: transactions (counted and unobserved) and violations are counted
-- from p_at on. Violations
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
           shadow_unobserved_baseline = shadowgate.txn_count(g.seq_no, 'unobserved'),
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

-- THE entry point for a clock reset (recorded changes, permissions, reviews, drift detection):
-- call it in the transaction that records the cause. Resets the shadow clock of a project in
-- shadow (no phase change) at p_at, or at its current start if that is later (a clock never moves
-- back). Returns false when the project is not in shadow (nothing to reset).
CREATE FUNCTION shadowgate.reset_shadow_clock(p text, p_at timestamptz, p_actor text, p_reason text)
RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_at timestamptz;
BEGIN
    PERFORM shadowgate.lock_audit();
    SELECT greatest(p_at, shadow_started_at) INTO v_at FROM shadowgate.rls_migration_status
     WHERE project_id = p AND migration_phase = 'shadow' FOR UPDATE;
    IF NOT FOUND THEN RETURN false; END IF;
    PERFORM shadowgate.start_shadow_clock(p, v_at);
    UPDATE shadowgate.rls_migration_status SET updated_at = v_at WHERE project_id = p;
    INSERT INTO shadowgate.rls_phase_history (project_id, kind, from_phase, to_phase, actor, reason, at)
    VALUES (p, 'clock_reset', 'shadow', 'shadow', p_actor, p_reason, v_at);
    INSERT INTO shadowgate.events (kind, project_id, payload)
    VALUES ('clock_reset', p, jsonb_build_object('reason', p_reason, 'at', v_at));
    RETURN true;
END $$;

-- A code or permission change (record-change, a CI/deploy hook): recorded and, for a project in
-- shadow, its clock reset, in one transaction.
CREATE FUNCTION shadowgate.record_change(p text, p_kind text, p_ref text, p_actor text, p_at timestamptz,
                                         OUT change_id bigint, OUT clock_reset boolean)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM shadowgate.lock_audit();  -- lock order: see lock_audit()
    INSERT INTO shadowgate.changes (project_id, kind, ref, actor, at)
    VALUES (p, p_kind, p_ref, p_actor, p_at) RETURNING id INTO change_id;
    clock_reset := shadowgate.reset_shadow_clock(p, p_at, p_actor, format('%s change %s (change %s)', p_kind, p_ref, change_id));
END $$;

-- Grants (p_grant) or withdraws a read permission of a shared project: the change is recorded (an
-- ACL change of the reader) and the reader's clock reset in the same transaction. Returns false
-- when there was nothing to change.
CREATE FUNCTION shadowgate.change_read_permission(p_reader text, p_target text, p_grant boolean,
                                                  p_actor text, p_at timestamptz)
RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    n integer;
BEGIN
    PERFORM shadowgate.lock_audit();
    IF p_grant THEN
        INSERT INTO shadowgate.project_read_permissions (reader_project_id, target_project_id, created_at)
        VALUES (p_reader, p_target, p_at) ON CONFLICT DO NOTHING;
    ELSE
        DELETE FROM shadowgate.project_read_permissions
         WHERE reader_project_id = p_reader AND target_project_id = p_target;
    END IF;
    GET DIAGNOSTICS n = ROW_COUNT;
    IF n = 0 THEN RETURN false; END IF;
    PERFORM shadowgate.record_change(p_reader, 'acl', format('read permission %s: %s -> %s',
        CASE WHEN p_grant THEN 'granted' ELSE 'revoked' END, p_reader, p_target), p_actor, p_at);
    RETURN true;
END $$;

-- Taken by a phase change before it evaluates the projects: one phase change at a time (two
-- operators cannot interleave their checks and writes), then the audit lock and the projects' rows
-- in the order every clock reset takes them. A change recorded concurrently either committed before
-- (and is seen) or waits, and finds the project moved on.
CREATE FUNCTION shadowgate.lock_phase_change(p_ids text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('shadowgate.phase-change'));
    PERFORM shadowgate.lock_audit();
    PERFORM 1 FROM shadowgate.rls_migration_status WHERE project_id = ANY (p_ids) ORDER BY project_id FOR UPDATE;
END $$;

-- Moves a project to another phase (the caller has checked that the move is allowed, under
-- lock_audit() and the project's row lock, and passes what it evaluated as p_evidence). The history
-- row keeps that evidence with the clock resets since the project entered shadow and the state of
-- its fingerprints (at most 200, the newest), never recomputed.
CREATE FUNCTION shadowgate.set_phase(p text, p_to shadowgate.migration_phase_enum, p_at timestamptz,
                                     p_actor text, p_reason text, p_forced boolean, p_evidence jsonb DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_from shadowgate.migration_phase_enum;
    v_started timestamptz;
    v_entered timestamptz;
    v_evidence jsonb;
BEGIN
    PERFORM shadowgate.lock_audit();
    SELECT migration_phase, shadow_started_at INTO v_from, v_started FROM shadowgate.rls_migration_status
     WHERE project_id = p FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'unknown project "%"', p USING ERRCODE = 'no_data_found';
    END IF;
    SELECT max(at) INTO v_entered FROM shadowgate.rls_phase_history
     WHERE project_id = p AND kind = 'phase' AND to_phase = 'shadow';
    v_evidence := coalesce(p_evidence, '{}'::jsonb) || jsonb_build_object(
        'shadow_started_at', v_started,
        'resets', CASE WHEN v_from = 'shadow' THEN coalesce((
            SELECT jsonb_agg(jsonb_build_object('at', h.at, 'actor', h.actor, 'reason', h.reason) ORDER BY h.id)
              FROM shadowgate.rls_phase_history h
             WHERE h.project_id = p AND h.kind = 'clock_reset' AND h.at >= v_entered), '[]') ELSE '[]' END,
        'fingerprints', coalesce((
            SELECT jsonb_agg(to_jsonb(f) ORDER BY f.last_seen DESC, f.id)
              FROM (SELECT id, table_name, operation, row_project_id, denied_reason, occurrences,
                           window_occurrences, first_seen, last_seen, open_since, resolution, ref,
                           rationale, reviewed_by, reviewed_at
                      FROM shadowgate.violation_fingerprints WHERE project_id = p
                     ORDER BY last_seen DESC, id LIMIT 200) f), '[]'),
        'fingerprints_total', (SELECT count(*) FROM shadowgate.violation_fingerprints WHERE project_id = p));
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
    INSERT INTO shadowgate.rls_phase_history (project_id, kind, from_phase, to_phase, forced, actor, reason, at, evidence)
    VALUES (p, 'phase', v_from, p_to, p_forced, p_actor, p_reason, p_at, v_evidence);
    INSERT INTO shadowgate.events (kind, project_id, payload)
    VALUES ('phase_change', p, jsonb_build_object('from', v_from, 'to', p_to, 'at', p_at, 'forced', p_forced));
END $$;

-- Records one root cause for several fingerprints (one bug, many fingerprints), all or nothing.
-- code-fix and acl-change reset the clock of each project concerned once; a false positive stays
-- exempt when it recurs. Returns the projects concerned. Raises no_data_found naming the ids that
-- do not exist.
CREATE FUNCTION shadowgate.review_fingerprints(p_ids bigint[], p_resolution text, p_ref text, p_rationale text,
                                               p_actor text, p_at timestamptz)
RETURNS text[]
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
DECLARE
    v_missing text;
    v_projects text[];
    v_project text;
BEGIN
    PERFORM shadowgate.lock_audit();  -- before any row lock (absorb_audit's order)
    SELECT string_agg(i::text, ', ' ORDER BY i) INTO v_missing
      FROM unnest(p_ids) AS i
     WHERE NOT EXISTS (SELECT 1 FROM shadowgate.violation_fingerprints f WHERE f.id = i);
    IF v_missing IS NOT NULL THEN
        RAISE EXCEPTION 'unknown fingerprint %', v_missing USING ERRCODE = 'no_data_found';
    END IF;
    PERFORM 1 FROM shadowgate.violation_fingerprints WHERE id = ANY (p_ids) ORDER BY fingerprint FOR UPDATE;
    UPDATE shadowgate.violation_fingerprints
       SET open_since = NULL, resolution = p_resolution, ref = p_ref, rationale = p_rationale,
           reviewed_by = p_actor, reviewed_at = p_at
     WHERE id = ANY (p_ids);
    INSERT INTO shadowgate.reviews (fingerprint_id, resolution, ref, rationale, actor, at)
    SELECT i, p_resolution, p_ref, p_rationale, p_actor, p_at FROM unnest(p_ids) AS i;
    UPDATE shadowgate.timers SET closed_at = p_at
     WHERE kind = 'investigation' AND subject = ANY (p_ids::text[]) AND closed_at IS NULL;
    SELECT array_agg(DISTINCT project_id ORDER BY project_id) INTO v_projects
      FROM shadowgate.violation_fingerprints WHERE id = ANY (p_ids);
    INSERT INTO shadowgate.events (kind, project_id, payload)
    SELECT 'review', f.project_id, jsonb_build_object('fingerprint_ids', array_agg(f.id ORDER BY f.id), 'resolution', p_resolution)
      FROM shadowgate.violation_fingerprints f WHERE f.id = ANY (p_ids) GROUP BY f.project_id;
    IF p_resolution IN ('code-fix', 'acl-change') THEN
        FOREACH v_project IN ARRAY v_projects LOOP
            PERFORM shadowgate.reset_shadow_clock(v_project, p_at, p_actor, format('%s for fingerprint%s %s (%s)',
                p_resolution, CASE WHEN cardinality(p_ids) > 1 THEN 's' ELSE '' END,
                (SELECT string_agg(f.id::text, ', ' ORDER BY f.id) FROM shadowgate.violation_fingerprints f
                  WHERE f.id = ANY (p_ids) AND f.project_id = v_project), p_ref));
        END LOOP;
    END IF;
    RETURN v_projects;
END $$;

-- Lines of application logs already ingested (ingest-calls): a line is known by the hash of its
-- text and its ordinal among identical lines of its log, so ingesting a log again, or a log that
-- repeats an earlier one's lines, adds nothing.
CREATE TABLE shadowgate.tool_call_lines (
    project_id  varchar(50) NOT NULL REFERENCES shadowgate.project_registry ON DELETE CASCADE,
    line_key    text NOT NULL,
    at          timestamptz NOT NULL,
    calls       integer NOT NULL CHECK (calls BETWEEN 0 AND 10000),
    ingested_at timestamptz NOT NULL,
    PRIMARY KEY (project_id, line_key)
);

-- Adds ingested tool calls (checked by the caller: known projects counting tool calls, times
-- between the project's registration and p_now, bounded counts), each line once. Returns the calls
-- added per project (lines seen before add nothing).
CREATE FUNCTION shadowgate.ingest_tool_calls(p_projects text[], p_keys text[], p_ats timestamptz[],
                                             p_calls integer[], p_now timestamptz)
RETURNS TABLE (project_id text, lines integer, calls bigint)
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    WITH fresh AS (
        INSERT INTO shadowgate.tool_call_lines AS l (project_id, line_key, at, calls, ingested_at)
        SELECT * , p_now FROM unnest(p_projects, p_keys, p_ats, p_calls)
        ON CONFLICT DO NOTHING
        RETURNING l.project_id, l.at, l.calls
    ), counted AS (
        INSERT INTO shadowgate.tool_call_counts AS t (project_id, bucket, calls)
        SELECT f.project_id, date_trunc('minute', f.at), sum(f.calls) FROM fresh f GROUP BY 1, 2
        ON CONFLICT ON CONSTRAINT tool_call_counts_pkey DO UPDATE SET calls = t.calls + EXCLUDED.calls
    ), per AS (
        SELECT f.project_id::text AS project_id, count(*)::integer AS lines, sum(f.calls)::bigint AS calls
          FROM fresh f GROUP BY 1
    ), announced AS (
        INSERT INTO shadowgate.events (kind, project_id, payload)
        SELECT 'calls_ingested', per.project_id, jsonb_build_object('calls', per.calls, 'lines', per.lines) FROM per
    )
    SELECT per.project_id, per.lines, per.calls FROM per;
END $$;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA shadowgate FROM PUBLIC;

-- Down Migration
