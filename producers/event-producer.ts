import { AUDIT_NOTIFY_GAP_MS, Listener } from '../shared/db/listener.js';
import { batchPage, batchProgress, beginBatch, endBatch, EVENTS_PAGE, lockEventPosition, type EventRow } from '../shared/db/events.js';
import { absorbAudit } from '../shared/db/intake.js';
import { withTransaction, type Client } from '../shared/db/pool.js';
import { openInvestigations } from '../shared/db/timers.js';
import { batchTop, batchTotals, claimForAnnouncement } from '../shared/db/violations.js';
import type { Runtime } from '../shared/jobs/runtime.js';
import { heartbeat } from '../shared/jobs/sweep.js';
import { jobId, QUEUE, type NotificationJob, type QueueName } from '../shared/jobs/queues.js';
import { DIGEST_TOP, violationDigest } from '../shared/notify/messages.js';
import { enqueueNotification, notificationJobOptions, recordNotification } from '../shared/notify/outbox.js';

export interface RoutedJob {
  queue: QueueName;
  name: string;
  data: object;
  jobId: string;
}

/**
 * The jobs a page of events becomes. Pure. Batching is what keeps a flood cheap: one eligibility
 * job per project, whatever the number of events. Job ids derive from event ids, so a replay
 * enqueues nothing twice. (Violations need no job: the producer announces them, `takePage`.)
 */
export function routeEvents(events: readonly EventRow[]): RoutedJob[] {
  const jobs: RoutedJob[] = [];
  const projects = new Set<string>();
  for (const e of events) {
    if (e.project_id) projects.add(e.project_id);
    switch (e.kind) {
      case 'notification': // recorded by the database itself (RLS switched off on a protected table)
        jobs.push({ queue: QUEUE.notifications, name: 'send', jobId: jobId('notif', Number(e.payload.notification_id)),
          data: { notificationId: Number(e.payload.notification_id) } });
        break;
      case 'phase_change':
      case 'clock_reset':
        jobs.push({ queue: QUEUE.lingering, name: e.kind, jobId: jobId('evt', e.id, 'lingering'), data: { projectId: e.project_id } });
        break;
    }
  }
  const last = events[events.length - 1]?.id ?? 0; // with no events there are no projects either
  for (const p of projects) jobs.push({ queue: QUEUE.eligibility, name: 'recompute', jobId: jobId('evt', last, 'eligibility', p), data: { projectId: p } });
  return jobs;
}

/** The unreviewed fingerprints a page of events saw violated. Pure. */
export const freshFingerprints = (events: readonly EventRow[]): number[] =>
  [...new Set(events.filter((e) => e.kind === 'violation' && e.payload.open_since).map((e) => Number(e.payload.fingerprint_id)))];

/**
 * Hears the database (LISTEN shadowgate) and turns committed events into announcements and jobs.
 * NOTIFY is only a wake-up: on start, on every reconnect, on every notification (and shortly
 * after) and every `pollMs`, it empties the audit inbox into the audit log and the fingerprints and
 * takes every event committed since its position, in commit-ordered batches (see
 * sql/migrations/006_pipeline.sql): no transaction left open anywhere on the server holds it back.
 */
export class EventProducer {
  private listener?: Listener;
  private timer?: NodeJS.Timeout;
  private trailing?: NodeJS.Timeout;
  private running?: Promise<void>;
  private queued?: Promise<void>;
  private stopped = false;
  private failing = false;
  private lastBeat = 0;

  constructor(private readonly p: Runtime, private readonly pollMs = 1000) {}

  /**
   * Listens (reconnecting for as long as it takes: every reconnect is followed by a catch-up),
   * drains once, then every `pollMs`. Never fails once started: a drain that fails (PostgreSQL or
   * Redis away) is reported once per outage and tried again at the next wake-up.
   */
  async start(): Promise<void> {
    this.listener = new Listener(this.p.cfg.databaseUrl, {
      onHint: () => this.hint(),
      onState: (up, detail) => console.error(`shadowgate producer: ${up ? 'listening again' : `lost the LISTEN connection (${detail}), reconnecting`}`),
    });
    await this.listener.ready;
    await this.wake(); // catch up on what was committed while we were away
    this.timer = setInterval(() => void this.wake(), this.pollMs);
  }

  /**
   * A notification: drain now, and once more a little after the last notification, for the rows
   * of transactions that skipped their NOTIFY (a session notifies at most every AUDIT_NOTIFY_GAP_MS,
   * so such a row committed less than that after some notification).
   */
  private hint(): void {
    void this.wake();
    if (this.trailing) clearTimeout(this.trailing);
    this.trailing = setTimeout(() => {
      this.trailing = undefined;
      void this.wake();
    }, 2 * AUDIT_NOTIFY_GAP_MS);
  }

  /**
   * Runs a drain now, or (when one is running) once more right after it; every caller of a wake-up
   * that arrives during a drain shares that next drain. Resolves when a drain that started after
   * the call has finished, so a steady stream of wake-ups can never starve a waiting caller.
   */
  wake(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (!this.running) {
      this.running = this.drain()
        .then(() => {
          if (this.failing) console.error('shadowgate producer: draining again');
          this.failing = false;
        }, (err: Error) => {
          if (!this.failing) console.error(`shadowgate producer: drain failed, retrying every ${this.pollMs} ms: ${err.message}`);
          this.failing = true;
        })
        .finally(() => {
          this.running = undefined;
        });
      return this.running;
    }
    this.queued ??= this.running.then(() => {
      this.queued = undefined;
      return this.wake();
    });
    return this.queued;
  }

  /**
   * Absorbs the audit inbox, then takes one batch (every transaction committed by now), page by
   * page, each page in a transaction of its own that moves the event position.
   */
  private async drain(): Promise<void> {
    await withTransaction(this.p.pool, (c) => absorbAudit(c));
    for (;;) {
      const { more, jobs, notifications } = await withTransaction(this.p.pool, (c) => this.takePage(c));
      // after the commit: no transaction waits on Redis; a job lost in between is rebuilt by the
      // workers' reconciliation, a delivery by their sweep
      for (const queue of new Set(jobs.map((j) => j.queue))) {
        await this.p.queues[queue].addBulk(jobs.filter((j) => j.queue === queue).map((j) => ({
          name: j.name, data: j.data,
          opts: queue === QUEUE.notifications ? notificationJobOptions((j.data as NotificationJob).notificationId) : { jobId: j.jobId },
        })));
      }
      for (const id of notifications) await enqueueNotification(this.p, id);
      if (!more) break;
    }
    if (Date.now() - this.lastBeat >= 5000) {
      await heartbeat(this.p, 'producer');
      this.lastBeat = Date.now();
    }
  }

  /**
   * One page of the batch in progress (starting one when none is): its jobs (deterministic ids:
   * enqueued again they add nothing) for after the commit, and its fresh violations
   * are claimed and given their investigations in this transaction, the one that moves the
   * position: a batch announces each fingerprint exactly once whatever fails when. The batch's
   * last page records its one digest. Returns whether the batch has more pages, and the jobs and
   * notifications to enqueue once committed.
   */
  private async takePage(c: Client): Promise<{ more: boolean; jobs: RoutedJob[]; notifications: number[] }> {
    const now = this.p.clock.now();
    const pos = await lockEventPosition(c);
    const target = pos.target ?? await beginBatch(c);
    const events = await batchPage(c, { ...pos, target, after_txid: pos.target ? pos.after_txid : 0, after_id: pos.target ? pos.after_id : 0 });
    const jobs = routeEvents(events);
    const fresh = freshFingerprints(events);
    if (fresh.length) {
      // window 0: every batch announces every fingerprint it touched
      const windowMs = this.p.cfg.violationWindowSeconds * 1000;
      await claimForAnnouncement(c, fresh, windowMs > 0 ? Math.floor(now.getTime() / windowMs) : now.getTime(), pos.batch);
      await openInvestigations(c, fresh, this.p.cfg.thresholds.investigationHours, now);
    }
    if (events.length === EVENTS_PAGE) {
      await batchProgress(c, events[events.length - 1]!);
      return { more: true, jobs, notifications: [] };
    }
    const totals = await batchTotals(c, pos.batch);
    const notifications = totals.length
      ? await recordNotification(this.p, c, `violations:batch:${pos.batch}`, violationDigest(await batchTop(c, pos.batch, DIGEST_TOP), totals, this.p.cfg.thresholds.investigationHours, this.p.cfg.dashboardUrl))
      : [];
    await endBatch(c);
    return { more: false, jobs, notifications };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.trailing) clearTimeout(this.trailing);
    await this.queued;
    await this.running;
    await this.listener?.close();
  }
}
