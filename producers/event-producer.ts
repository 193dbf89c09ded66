import type { Subscriber } from 'pg-listen';
import { AUDIT_NOTIFY_GAP_MS, listen } from '../shared/db/listen.js';
import { advanceEvents, EVENTS_PAGE, pendingEvents, type EventRow } from '../shared/db/events.js';
import { absorbAudit } from '../shared/db/intake.js';
import { withTransaction } from '../shared/db/pool.js';
import type { Runtime } from '../shared/jobs/runtime.js';
import { jobId, QUEUE, type NotificationJob, type QueueName } from '../shared/jobs/queues.js';
import { notificationJobOptions } from '../shared/notify/outbox.js';

export interface RoutedJob {
  queue: QueueName;
  name: string;
  data: object;
  jobId: string;
}

/**
 * The jobs a batch of events becomes. Pure. Batching is what keeps a flood cheap: one eligibility
 * job per project and one investigation job for all fresh violations of the batch, whatever the
 * number of events. Job ids derive from event ids, so a replay enqueues nothing twice.
 */
export function routeEvents(events: readonly EventRow[]): RoutedJob[] {
  const jobs: RoutedJob[] = [];
  const projects = new Set<string>();
  const fresh: EventRow[] = [];
  for (const e of events) {
    if (e.project_id) projects.add(e.project_id);
    switch (e.kind) {
      case 'violation':
        if (e.payload.open_since) fresh.push(e);
        break;
      case 'permission_change':
      case 'code_change':
        jobs.push({ queue: QUEUE.shadowClock, name: e.kind, jobId: jobId('evt', e.id, 'clock'),
          data: { eventId: e.id, kind: e.kind, projectId: e.project_id, payload: e.payload } });
        break;
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
  if (fresh.length) {
    jobs.push({ queue: QUEUE.investigation, name: 'violations', jobId: jobId('evt', fresh[0].id, fresh[fresh.length - 1].id, 'violations'),
      data: { fingerprintIds: fresh.map((e) => e.payload.fingerprint_id) } });
  }
  const last = events[events.length - 1]?.id;
  for (const p of projects) jobs.push({ queue: QUEUE.eligibility, name: 'recompute', jobId: jobId('evt', last, 'eligibility', p), data: { projectId: p } });
  return jobs;
}

/**
 * Hears the database (LISTEN shadowgate) and turns committed events into jobs. NOTIFY is only a
 * wake-up: on start, on every reconnect, on every notification (and shortly after) and every
 * `pollMs`, it empties the audit inbox into the audit log and the fingerprints, enqueues every
 * event past its watermark, once (deterministic job ids), then moves the watermark.
 */
export class EventProducer {
  private subscriber?: Subscriber;
  private timer?: NodeJS.Timeout;
  private trailing?: NodeJS.Timeout;
  private running?: Promise<void>;
  private queued?: Promise<void>;
  private stopped = false;

  constructor(private readonly p: Runtime, private readonly pollMs = 1000) {}

  async start(): Promise<void> {
    this.subscriber = await listen(
      this.p.cfg.databaseUrl,
      () => this.hint(),
      (err) => console.error(`shadowgate producer: ${err.message}`),
    );
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
        .catch((err) => console.error(`shadowgate producer: ${(err as Error).message}`))
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

  private async drain(): Promise<void> {
    await withTransaction(this.p.pool, (c) => absorbAudit(c));
    for (;;) {
      const { events, upTo } = await pendingEvents(this.p.pool);
      const jobs = routeEvents(events);
      for (const queue of new Set(jobs.map((j) => j.queue))) {
        await this.p.queues[queue].addBulk(jobs.filter((j) => j.queue === queue).map((j) => ({
          name: j.name, data: j.data,
          opts: queue === QUEUE.notifications ? notificationJobOptions(this.p, (j.data as NotificationJob).notificationId) : { jobId: j.jobId },
        })));
      }
      await advanceEvents(this.p.pool, upTo);
      if (events.length < EVENTS_PAGE) return;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.trailing) clearTimeout(this.trailing);
    await this.queued;
    await this.running;
    await this.subscriber?.close();
  }
}
