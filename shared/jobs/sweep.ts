import { hostname } from 'node:os';
import type { JobsOptions } from 'bullmq';
import { queryRows, execute } from '../db/sql.js';
import { projectsInPhase } from '../db/phases.js';
import type { Timer } from '../db/timers.js';
import { jobId, QUEUE } from './queues.js';
import type { Runtime } from './runtime.js';

/** Rows taken per sweep: a backlog is worked off this many at a time, every sweep. */
const SWEEP_PAGE = 500;

/** Jobs a sweep makes are gone once done: the database says whether another is needed. */
const SWEPT: JobsOptions = { removeOnComplete: true, removeOnFail: true };

/** `host:pid`, the instance name of this process in the heartbeats. */
export const INSTANCE = `${hostname()}:${process.pid}`;

/** Records that a producer or worker process made progress (`shadowgate health` reads it). */
export async function heartbeat(p: Pick<Runtime, 'pool'>, role: 'producer' | 'workers'): Promise<void> {
  await execute(p.pool, 'heartbeat', [role, INSTANCE]);
}

/**
 * What the database says is due, turned into jobs: open timers whose time has come and pending
 * deliveries whose next attempt is due. Redis holds no state of its own here: a Redis restarted
 * empty, a delayed job stuck after a disconnect or a job lost with a crashed worker is made good at
 * the next sweep, and the processors check the database, so a job made twice acts once.
 */
export async function sweepDue(p: Runtime): Promise<{ timers: number; deliveries: number }> {
  const now = p.clock.now();
  const timers = await queryRows<Timer>(p.pool, 'timers-due', [now, SWEEP_PAGE]);
  // investigations come due in floods (every fingerprint of a giant statement at once): one job
  // for all of a sweep, which escalates them as one message per lead
  const investigations = timers.filter((t) => t.kind === 'investigation');
  if (investigations.length) {
    const first = investigations[0]!;
    await p.queues[QUEUE.investigation].add('timers', { timerIds: investigations.map((t) => t.id) },
      { ...SWEPT, jobId: jobId('sweep', first.id, first.fired, investigations.length) });
  }
  const lingering = timers.filter((t) => t.kind === 'lingering');
  if (lingering.length) {
    await p.queues[QUEUE.lingering].addBulk(lingering.map((t) => ({
      name: 'timer', data: { timerId: t.id }, opts: { ...SWEPT, jobId: jobId('sweep', t.id, t.fired, t.due_at.getTime()) },
    })));
  }
  const deliveries = await queryRows<{ id: number; attempts: number }>(p.pool, 'notifications-due', [SWEEP_PAGE]);
  if (deliveries.length) {
    await p.queues[QUEUE.notifications].addBulk(deliveries.map((d) => ({
      name: 'send', data: { notificationId: d.id }, opts: { ...SWEPT, jobId: jobId('notif', d.id, d.attempts) },
    })));
  }
  return { timers: timers.length, deliveries: deliveries.length };
}

/**
 * Rebuilds what the producer's jobs would have made, for what has no row to sweep: an eligibility
 * check and the lingering timer of every project in shadow (both idempotent).
 */
export async function reconcile(p: Runtime): Promise<number> {
  const round = p.clock.now().getTime();
  const shadow = await projectsInPhase(p.pool, 'shadow');
  if (!shadow.length) return 0;
  await p.queues[QUEUE.eligibility].addBulk(shadow.map((projectId) => ({
    name: 'reconcile', data: { projectId }, opts: { ...SWEPT, jobId: jobId('reconcile', projectId, round) },
  })));
  await p.queues[QUEUE.lingering].addBulk(shadow.map((projectId) => ({
    name: 'reconcile', data: { projectId }, opts: { ...SWEPT, jobId: jobId('reconcile', projectId, round) },
  })));
  return shadow.length;
}

/**
 * The workers' loop beside BullMQ: sweeps every `sweepMs`, reconciles at start and every
 * `reconcileSeconds`, and beats (at most every 5 s) after a sweep that reached PostgreSQL and
 * Redis. Failures are reported once per outage and retried at the next tick; nothing here exits.
 */
export class Sweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private lastReconcile = 0;
  private lastBeat = 0;
  private failing = false;
  private stopped = false;

  constructor(private readonly p: Runtime) {}

  start(): void {
    this.tick();
  }

  private tick(): void {
    this.running = this.once().finally(() => {
      this.running = undefined;
      if (!this.stopped) this.timer = setTimeout(() => this.tick(), this.p.cfg.pipeline.sweepMs);
    });
  }

  private async once(): Promise<void> {
    try {
      await sweepDue(this.p);
      const t = Date.now();
      if (t - this.lastReconcile >= this.p.cfg.pipeline.reconcileSeconds * 1000) {
        await reconcile(this.p);
        this.lastReconcile = t;
      }
      if (t - this.lastBeat >= 5000) {
        await this.p.connection.ping();
        await heartbeat(this.p, 'workers');
        this.lastBeat = t;
      }
      if (this.failing) console.error('shadowgate workers: sweeping again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) console.error(`shadowgate workers: sweep failed, retrying every ${this.p.cfg.pipeline.sweepMs} ms: ${(err as Error).message}`);
      this.failing = true;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
