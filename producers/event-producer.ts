import pgListen, { type Subscriber } from 'pg-listen';

// pg-listen is CommonJS with `exports.default`
const createSubscriber = ((pgListen as unknown as { default?: typeof pgListen }).default ?? pgListen) as unknown as typeof pgListen.default;
import { advanceEvents, pendingEvents, type EventRow } from '../shared/db/events.js';
import { absorbAudit } from '../shared/db/stats.js';
import { withTransaction } from '../shared/db/pool.js';
import type { Pipeline } from '../shared/pipeline.js';
import { jobId, QUEUE } from '../shared/queues.js';

/** Which jobs an event becomes. Pure. */
export function routeEvent(e: EventRow): Array<{ queue: string; data: object }> {
  const p = e.project_id;
  const jobs: Array<{ queue: string; data: object }> = [];
  if (p) jobs.push({ queue: QUEUE.eligibility, data: { projectId: p } });
  switch (e.kind) {
    case 'violation':
      if (e.payload.open_since || e.payload.created) jobs.push({ queue: QUEUE.investigation, data: { fingerprintId: e.payload.fingerprint_id, eventId: e.id } });
      break;
    case 'permission_change':
    case 'code_change':
      jobs.push({ queue: QUEUE.shadowClock, data: { eventId: e.id, kind: e.kind, projectId: p, payload: e.payload, at: e.created_at.toISOString() } });
      break;
    case 'phase_change':
    case 'clock_reset':
      jobs.push({ queue: QUEUE.lingering, data: { projectId: p } });
      break;
  }
  return jobs;
}

/**
 * Hears the database (LISTEN shadowgate) and turns committed events into jobs. NOTIFY is only a
 * wake-up: on start, on every reconnect, on every notification and every `pollMs`, it folds new
 * audit rows into fingerprints and enqueues every event past its watermark, once (deterministic
 * job ids), then moves the watermark.
 */
export class EventProducer {
  private subscriber?: Subscriber;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private queued?: Promise<void>;
  private stopped = false;
  handled = 0;

  constructor(private readonly p: Pipeline, private readonly pollMs = 1000) {}

  async start(): Promise<void> {
    const sub = createSubscriber(
      { connectionString: this.p.cfg.databaseUrl },
      { parse: (s: string) => s, retryTimeout: Infinity, paranoidChecking: 10_000 },
    );
    this.subscriber = sub;
    sub.events.on('error', (err: Error) => console.error(`shadowgate producer: ${err.message}`));
    sub.events.on('reconnect', () => void this.wake());
    sub.notifications.on('shadowgate', () => void this.wake());
    await sub.connect();
    await sub.listenTo('shadowgate');
    await this.wake(); // catch up on what was committed while we were away
    this.timer = setInterval(() => void this.wake(), this.pollMs);
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
      for (const e of events) {
        for (const j of routeEvent(e)) {
          await this.p.queues[j.queue as keyof typeof this.p.queues].add(e.kind, j.data, { jobId: jobId('evt', e.id, j.queue) });
        }
        this.handled += 1;
      }
      await advanceEvents(this.p.pool, upTo);
      if (events.length < 5000) return;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.queued;
    await this.running;
    await this.subscriber?.close();
  }
}
