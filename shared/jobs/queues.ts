import { Queue, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';

/** Queue names and job payloads: one queue per worker file in workers/. */
export const QUEUE = {
  eligibility: 'eligibility',
  investigation: 'investigation',
  shadowClock: 'shadow-clock',
  lingering: 'lingering',
  notifications: 'notifications',
} as const;
export type QueueName = (typeof QUEUE)[keyof typeof QUEUE];

export interface EligibilityJob { projectId: string }
/** either unreviewed fingerprints that just saw violations (one job per producer batch), or a timer */
export type InvestigationJob = { fingerprintIds: number[] } | { timerId: number };
export interface ShadowClockJob { eventId: number; kind: 'permission_change' | 'code_change'; projectId: string; payload: Record<string, unknown> }
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
  }
  return q;
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.all(Object.values(queues).map((q) => q.close()));
}
