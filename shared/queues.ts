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
/** either a new/reopened violation fingerprint, or a timer that fired */
export type InvestigationJob = { fingerprintId: number; eventId: number } | { timerId: number };
export interface ShadowClockJob { eventId: number; kind: 'permission_change' | 'code_change'; projectId: string; payload: Record<string, unknown>; at: string }
export type LingeringJob = { projectId: string } | { timerId: number };
export interface NotificationJob { notificationId: number }

/** BullMQ job ids may not contain ':'. */
export const jobId = (...parts: Array<string | number>) => parts.join('-').replace(/:/g, '_');
