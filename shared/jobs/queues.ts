import { Queue, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { outageLog } from './outage-log.js';

/** Queue names and job payloads: one queue per worker file in workers/. */
export const QUEUE = {
  eligibility: 'eligibility',
  investigation: 'investigation',
  lingering: 'lingering',
  notifications: 'notifications',
} as const;
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

export interface EligibilityJob { projectId: string }
/** investigation timers to fire: those the workers' sweep found due, or one (a reminder's wake-up) */
export type InvestigationJob = { timerIds: number[] } | { timerId: number };
export type LingeringJob = { projectId: string } | { timerId: number };
export interface NotificationJob { notificationId: number }

/** BullMQ job ids may not contain ':'. */
export const jobId = (...parts: Array<string | number>) => parts.join('-').replace(/:/g, '_');

export type Queues = Record<QueueName, Queue>;

export function createQueues(connection: Redis, prefix: string): Queues {
  const q = {} as Queues;
  for (const name of Object.values(QUEUE)) {
    q[name] = new Queue(name, {
      connection: connection as unknown as ConnectionOptions,
      prefix,
      defaultJobOptions: { removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 }, removeOnFail: { age: 7 * 24 * 3600 } },
    });
    // Redis restarting: the queue reconnects on its own; an unheard 'error' would end the process
    q[name].on('error', outageLog(`queue ${name}`));
  }
  return q;
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}
