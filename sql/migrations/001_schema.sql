-- Up Migration
-- The rollout's tables. Everything lives in the schema "shadowgate"; the application role gets no
-- privilege on any of them (see sql/migrations/003_policies.sql for what it may execute).

CREATE SCHEMA IF NOT EXISTS shadowgate;
REVOKE ALL ON SCHEMA shadowgate FROM PUBLIC;

-- A project's name: letters, digits and '_.-', never one of the separators the recorder's lists use
-- (',', '@', '/', ';', '=', ' '); the registry's CHECK and the recorder (002_recording.sql).
CREATE FUNCTION shadowgate.is_project_name(v text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT v ~ '^[A-Za-z0-9][A-Za-z0-9_.-]*$' $$;

CREATE TYPE shadowgate.migration_phase_enum AS ENUM ('pending', 'shadow', 'enforcing', 'complete');
CREATE TYPE shadowgate.access_level_enum AS ENUM ('isolated', 'shared', 'super');

CREATE TABLE shadowgate.project_registry (
    project_id      varchar(50) PRIMARY KEY
                    CHECK (shadowgate.is_project_name(project_id)),
    -- small stable number: names the project's transaction counter sequence
    seq_no          integer GENERATED ALWAYS AS IDENTITY UNIQUE,
    name            text NOT NULL,
    access_level    shadowgate.access_level_enum NOT NULL,
    legacy_owner    boolean NOT NULL DEFAULT false,
    lead_email      text,
    lead_slack      text,
    -- per-project override of the minimum shadow duration (the seed wants 14 days for io)
    min_shadow_days integer CHECK (min_shadow_days IS NULL OR min_shadow_days >= 0),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE shadowgate.project_read_permissions (
    reader_project_id varchar(50) NOT NULL REFERENCES shadowgate.project_registry ON DELETE CASCADE,
    target_project_id varchar(50) NOT NULL REFERENCES shadowgate.project_registry ON DELETE CASCADE,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (reader_project_id, target_project_id),
    CHECK (reader_project_id <> target_project_id)
);

CREATE TABLE shadowgate.rls_migration_status (
    id                  serial PRIMARY KEY,
    project_id          varchar(50) UNIQUE NOT NULL
                        REFERENCES shadowgate.project_registry ON DELETE CASCADE,
    rls_enabled         boolean NOT NULL DEFAULT false,
    migration_phase     shadowgate.migration_phase_enum NOT NULL DEFAULT 'pending',
    migrated_at         timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    -- the shadow clock: set on entering shadow, moved by every reset, NULL outside shadow
    shadow_started_at   timestamptz,
    -- value of the project's transaction counter when the shadow clock last started
    shadow_txn_baseline bigint NOT NULL DEFAULT 0,
    -- value of its unobserved-transaction counter then (002_recording.sql, count_unobserved())
    shadow_unobserved_baseline bigint NOT NULL DEFAULT 0,
    -- [pipeline] the snapshot taken when the shadow clock last started: audit rows of transactions
    -- it does not see (they committed after it) count in the current shadow window; an xmin would
    -- put violations committed before the reset after it while any transaction on the server is open
    shadow_started_snapshot txid_snapshot NOT NULL DEFAULT '1:1:'
);

CREATE TABLE shadowgate.rls_phase_history (
    id          bigserial PRIMARY KEY,
    project_id  varchar(50) NOT NULL REFERENCES shadowgate.project_registry ON DELETE CASCADE,
    kind        text NOT NULL CHECK (kind IN ('phase', 'clock_reset')),
    from_phase  shadowgate.migration_phase_enum,
    to_phase    shadowgate.migration_phase_enum NOT NULL,
    forced      boolean NOT NULL DEFAULT false,
    actor       text NOT NULL,
    reason      text,
    at          timestamptz NOT NULL
);
CREATE INDEX rls_phase_history_project ON shadowgate.rls_phase_history (project_id, at);

-- Tables under the rollout policies (filled by shadowgate.protect()).
CREATE TABLE shadowgate.protected_tables (
    id          integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    table_oid   oid NOT NULL UNIQUE,
    table_name  text NOT NULL,
    column_name name NOT NULL,
    protected_at timestamptz NOT NULL DEFAULT now()
);

-- One row per (transaction, table, operation, row owner, reason): row_count says how many row
-- accesses it stands for. Partitioned by time: a default partition catches everything until an
-- operator adds monthly partitions.
CREATE TABLE shadowgate.rls_audit_log (
    id                 bigserial,
    logged_at          timestamptz NOT NULL DEFAULT now(),
    project_id         varchar(50) NOT NULL,
    table_name         varchar(100) NOT NULL,
    operation          varchar(10) NOT NULL,
    row_project_id     varchar(50),
    would_be_denied    boolean NOT NULL DEFAULT false,
    denied_reason      text,
    user_name          varchar(100),
    session_id         varchar(100),
    context_project_id varchar(50),
    row_count          bigint NOT NULL DEFAULT 1,
    txid               bigint NOT NULL DEFAULT txid_current(),
    -- a sample of where it came from: the statement (first kB) and the session's application_name,
    -- and whether the statement may have discarded the rows it noted (statement_may_discard())
    statement          text,
    application_name   varchar(64),
    plan_dependent     boolean NOT NULL DEFAULT false,
    PRIMARY KEY (id, logged_at)
) PARTITION BY RANGE (logged_at);
CREATE TABLE shadowgate.rls_audit_log_default PARTITION OF shadowgate.rls_audit_log DEFAULT;
CREATE INDEX idx_audit_log_time ON shadowgate.rls_audit_log USING brin (logged_at);
CREATE INDEX idx_audit_log_violations ON shadowgate.rls_audit_log (logged_at) WHERE would_be_denied = TRUE;
CREATE INDEX idx_audit_log_txid ON shadowgate.rls_audit_log (txid);

-- Tool calls counted from application logs (ingest-calls), by minute.
CREATE TABLE shadowgate.tool_call_counts (
    project_id varchar(50) NOT NULL REFERENCES shadowgate.project_registry ON DELETE CASCADE,
    bucket     timestamptz NOT NULL,
    calls      bigint NOT NULL,
    PRIMARY KEY (project_id, bucket)
);

-- Violations folded by fingerprint (project, table, operation, row owner, reason), kept as audit
-- rows arrive (shadowgate.absorb_audit()).
CREATE TABLE shadowgate.violation_fingerprints (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fingerprint        text NOT NULL UNIQUE,
    project_id         varchar(50) NOT NULL,
    table_name         varchar(100) NOT NULL,
    operation          varchar(10) NOT NULL,
    row_project_id     varchar(50),
    denied_reason      text NOT NULL,
    occurrences        bigint NOT NULL DEFAULT 0,   -- row accesses, all time
    audit_rows         bigint NOT NULL DEFAULT 0,   -- transactions, all time
    window_occurrences bigint NOT NULL DEFAULT 0,   -- row accesses since the project's shadow clock
    first_seen         timestamptz NOT NULL,
    last_seen          timestamptz NOT NULL,
    -- first occurrence not covered by a review (NULL: everything reviewed)
    open_since         timestamptz,
    resolution         text CHECK (resolution IN ('code-fix', 'acl-change', 'false-positive')),
    ref                text,
    rationale          text,
    reviewed_by        text,
    reviewed_at        timestamptz,
    -- the real-time window (epoch / window length) this fingerprint was last announced in
    notified_window    bigint
);
CREATE INDEX violation_fingerprints_project ON shadowgate.violation_fingerprints (project_id);

CREATE TABLE shadowgate.violation_daily (
    project_id  varchar(50) NOT NULL,
    day         date NOT NULL,
    occurrences bigint NOT NULL,
    PRIMARY KEY (project_id, day)
);

CREATE TABLE shadowgate.reviews (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    fingerprint_id bigint NOT NULL REFERENCES shadowgate.violation_fingerprints,
    resolution     text NOT NULL,
    ref            text NOT NULL,
    rationale      text,
    actor          text NOT NULL,
    at             timestamptz NOT NULL
);

-- The outbox: every event the pipeline reacts to, written in the transaction that caused it.
CREATE TABLE shadowgate.events (
    id         bigserial PRIMARY KEY,
    txid       bigint NOT NULL DEFAULT txid_current(),
    kind       text NOT NULL,
    project_id varchar(50),
    payload    jsonb NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL DEFAULT now()
);
-- [pipeline] ordering columns: (txid, id) is the producer's total order; where it stands is in
-- shadowgate.event_position (006_pipeline.sql), which also says why no long transaction holds it back.
CREATE INDEX events_txid ON shadowgate.events (txid, id);

-- Recorded code/permission changes (record-change), for the shadow clock worker and the history.
CREATE TABLE shadowgate.changes (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id varchar(50) NOT NULL REFERENCES shadowgate.project_registry ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind IN ('code', 'acl')),
    ref        text NOT NULL,
    actor      text NOT NULL,
    at         timestamptz NOT NULL
);

-- Every timer's due time lives here; BullMQ delayed jobs only wake the workers up.
CREATE TABLE shadowgate.timers (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind       text NOT NULL CHECK (kind IN ('investigation', 'lingering')),
    subject    text NOT NULL,
    project_id varchar(50) NOT NULL,
    opened_at  timestamptz NOT NULL,
    due_at     timestamptz NOT NULL,
    fired      integer NOT NULL DEFAULT 0,
    closed_at  timestamptz
);
CREATE UNIQUE INDEX timers_open ON shadowgate.timers (kind, subject) WHERE closed_at IS NULL;

CREATE TABLE shadowgate.eligibility_state (
    project_id varchar(50) PRIMARY KEY REFERENCES shadowgate.project_registry ON DELETE CASCADE,
    eligible   boolean NOT NULL,
    reasons    jsonb NOT NULL,
    computed_at timestamptz NOT NULL
);

CREATE TABLE shadowgate.notifications (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dedupe_key text NOT NULL,
    channel    text NOT NULL CHECK (channel IN ('slack', 'email')),
    target     text NOT NULL,
    subject    text NOT NULL,
    body       jsonb NOT NULL,
    status     text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts   integer NOT NULL DEFAULT 0,
    last_error text,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at    timestamptz,
    UNIQUE (dedupe_key, channel)
);

-- Down Migration
DROP SCHEMA shadowgate CASCADE;
