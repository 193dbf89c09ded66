import { Queue, type ConnectionOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import { UnavailableError } from '../errors.js';
import type { Pool, Queryable } from '../db/pool.js';
import { createNotification } from '../db/notifications.js';
import type { Timer } from '../db/timers.js';
import type { Message } from '../notify/messages.js';
import { jobId, QUEUE, type QueueName } from './queues.js';

/** What producers and workers share: the database, Redis, the queues, the clock. */
export interface Pipeline {
  pool: Pool;
  cfg: Config;
  clock: Clock;
  connection: Redis;
  queues: Record<QueueName, Queue>;
  /** retry delay base of notification deliveries (ms) */
  backoffMs: number;
}

/** ioredis as BullMQ wants it (maxRetriesPerRequest: null); fails in one line when unreachable. */
export async function connectRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, retryStrategy: (n) => Math.min(n * 200, 2000) });
  redis.on('error', () => undefined); // reported by the caller / reconnects on its own
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new UnavailableError(`cannot reach Redis at ${url}: ${(err as Error).message}`);
  }
  return redis;
}

export function createQueues(connection: Redis, prefix: string): Record<QueueName, Queue> {
  const q = {} as Record<QueueName, Queue>;
  for (const name of Object.values(QUEUE)) {
    q[name] = new Queue(name, {
      connection: connection as unknown as ConnectionOptions,
      prefix,
      defaultJobOptions: { removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 }, removeOnFail: { age: 7 * 24 * 3600 } },
    });
  }
  return q;
}

export async function closeQueues(queues: Record<QueueName, Queue>): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}

/**
 * Records a message for Slack and, when given, the email recipients, once per dedupe key. Returns
 * the ids of the new ones: enqueue them (`enqueueNotification`) after the transaction commits.
 */
export async function recordNotification(
  p: Pipeline, db: Queryable, dedupeKey: string, msg: Message, emails: Array<string | null | undefined> = [],
): Promise<number[]> {
  const targets: Array<{ channel: 'slack' | 'email'; target: string }> = [{ channel: 'slack', target: p.cfg.slackChannel }];
  for (const e of new Set(emails.filter((x): x is string => !!x))) targets.push({ channel: 'email', target: e });
  const ids: number[] = [];
  for (const t of targets) {
    const key = t.channel === 'email' ? `${dedupeKey}|${t.target}` : dedupeKey;
    const id = await createNotification(db, { dedupeKey: key, channel: t.channel, target: t.target, subject: msg.subject, body: { text: msg.text, blocks: msg.blocks } });
    if (id !== null) ids.push(id);
  }
  return ids;
}

/** Records a message (see recordNotification) and enqueues its deliveries. */
export async function notify(p: Pipeline, dedupeKey: string, msg: Message, emails: Array<string | null | undefined> = []): Promise<number> {
  const ids = await recordNotification(p, p.pool, dedupeKey, msg, emails);
  for (const id of ids) await enqueueNotification(p, id);
  return ids.length;
}

/** The delivery job of a recorded notification (idempotent: one job id per notification). */
export async function enqueueNotification(p: Pipeline, id: number): Promise<void> {
  await p.queues[QUEUE.notifications].add('send', { notificationId: id }, {
    jobId: jobId('notif', id), attempts: 8, backoff: { type: 'exponential', delay: p.backoffMs },
  });
}

const timerQueue = (t: Timer) => (t.kind === 'investigation' ? QUEUE.investigation : QUEUE.lingering);

const timerJob = (p: Pipeline, t: Timer) => ({
  name: 'timer',
  data: { timerId: t.id },
  opts: { jobId: jobId('timer', t.id, t.fired, t.due_at.getTime()), delay: Math.max(0, t.due_at.getTime() - p.clock.now().getTime()) },
});

/** A delayed job that wakes the timer's worker at the due time (the database holds the truth). */
export async function scheduleTimer(p: Pipeline, t: Timer): Promise<void> {
  const j = timerJob(p, t);
  await p.queues[timerQueue(t)].add(j.name, j.data, j.opts);
}

/** scheduleTimer for many investigation timers in one round trip. */
export async function scheduleInvestigationTimers(p: Pipeline, timers: readonly Timer[]): Promise<void> {
  if (timers.length) await p.queues[QUEUE.investigation].addBulk(timers.map((t) => timerJob(p, t)));
}

/** After a clock jump (the demo's accelerated clock): wake every open timer that is now due. */
export async function wakeDueTimers(p: Pipeline, timers: readonly Timer[]): Promise<number> {
  const now = p.clock.now();
  const due = timers.filter((t) => t.due_at <= now && !t.closed_at);
  for (const t of due) {
    await p.queues[timerQueue(t)].add('timer', { timerId: t.id }, { jobId: jobId('wake', t.id, t.fired, now.getTime()) });
  }
  return due.length;
}
