-- Up Migration
-- The pipeline's state lives in the database; Redis only wakes workers up, and losing it loses
-- nothing (sweeps and reconciliation rebuild what it should hold):
--   * where the producer has got to in the event outbox, by snapshot, not by a cluster-wide horizon;
--   * the batch that announced a fingerprint (one bounded digest per batch);
--   * deliveries: when the next attempt is due, and the lease of the one attempt in flight;
--   * timers due (an index for the sweep);
--   * heartbeats of running producers and workers (`shadowgate health`).

-- Ordering. An event belongs to the transaction that wrote it (events.txid). A batch is the set of
-- transactions that committed after the snapshot `done` and are committed in the snapshot `target`:
-- their txids are visible in `target` and not in `done`, i.e. at least xmax(done) or in xip(done).
-- Every committed transaction falls in exactly one batch, batches follow commit order (all of
-- batch k committed before anything of batch k+1), and no transaction that is still open holds a
-- batch back: a transaction open for an hour (in this database or another of the server) is in the
-- xip of every snapshot until it commits, and its events are taken in the batch after its commit.
-- Within a batch, events are paged by (txid, id), a total order: a page never repeats, whatever the
-- size of one transaction.
CREATE TABLE shadowgate.event_position (
    name       text PRIMARY KEY,
    done       txid_snapshot NOT NULL,   -- every event of a transaction visible here has been taken
    target     txid_snapshot,            -- the batch in progress, NULL between batches
    after_txid bigint,                   -- the last (txid, id) taken of the batch in progress
    after_id   bigint,
    batch      bigint NOT NULL DEFAULT 1, -- number of the batch in progress (or the next one)
    updated_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO shadowgate.event_position (name, done) VALUES ('events', '1:1:');

-- The batch whose digest announced the fingerprint last (the producer claims and announces in the
-- transaction that moves event_position: a batch's announcements are made exactly once).
ALTER TABLE shadowgate.violation_fingerprints ADD COLUMN announced_batch bigint;
CREATE INDEX violation_fingerprints_announced ON shadowgate.violation_fingerprints (announced_batch)
    WHERE announced_batch IS NOT NULL;

-- Deliveries are retried until they go out: a transient failure moves next_attempt_at (capped
-- backoff); the worker attempting a delivery holds lease_until, so one attempt at a time is in flight.
ALTER TABLE shadowgate.notifications
    ADD COLUMN next_attempt_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN lease_until     timestamptz;
CREATE INDEX notifications_due ON shadowgate.notifications (next_attempt_at) WHERE status = 'pending';
-- what status, the dashboard and health show: the few not sent among all ever sent
CREATE INDEX notifications_unsent ON shadowgate.notifications (id) WHERE status <> 'sent';

CREATE INDEX timers_due ON shadowgate.timers (due_at) WHERE closed_at IS NULL;

-- The last time each running producer / worker process made progress (a drain or a sweep that
-- reached both PostgreSQL and Redis).
CREATE TABLE shadowgate.pipeline_heartbeats (
    role     text NOT NULL CHECK (role IN ('producer', 'workers')),
    instance text NOT NULL,
    at       timestamptz NOT NULL,
    PRIMARY KEY (role, instance)
);

-- Down Migration
