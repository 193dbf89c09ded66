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
