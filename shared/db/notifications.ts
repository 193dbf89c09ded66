import type { Queryable } from './pool.js';
import { execute, queryFirst, queryOne, queryRows } from './sql.js';

export interface NotificationRow {
  id: number;
  dedupe_key: string;
  channel: 'slack' | 'email';
  target: string;
  subject: string;
  body: { text: string; blocks?: unknown[]; html?: string };
  status: 'pending' | 'sent' | 'failed';
  attempts: number;
}

/** Records a notification once per (dedupe key, channel); returns its id, or null if it existed. */
export async function createNotification(
  db: Queryable, n: { dedupeKey: string; channel: 'slack' | 'email'; target: string; subject: string; body: NotificationRow['body'] },
): Promise<number | null> {
  const row = await queryFirst<{ id: number }>(db, 'notification-create', [n.dedupeKey, n.channel, n.target, n.subject, n.body]);
  return row?.id ?? null;
}

/** A pending notification leased for one delivery attempt. */
export interface LeasedNotification {
  id: number;
  channel: 'slack' | 'email';
  target: string;
  subject: string;
  body: NotificationRow['body'];
  attempts: number;
  created_at: Date;
}

/**
 * Leases pending notification `id` for one attempt of at most `ms` (undefined: sent, failed, or
 * another worker's attempt is in flight). One attempt at a time per message: a slow endpoint gets
 * no second copy while the first is still waiting for its answer.
 */
export async function leaseNotification(db: Queryable, id: number, ms: number): Promise<LeasedNotification | undefined> {
  return queryFirst<LeasedNotification>(db, 'notification-lease', [id, ms]);
}

/**
 * Leases, with `lead`, the other notifications of its channel and target held back by failed
 * attempts, oldest first, as many as fit in `maxChars` of text (they go out together).
 */
export async function leaseHeldWith(db: Queryable, lead: LeasedNotification, maxChars: number, ms: number): Promise<LeasedNotification[]> {
  return queryRows<LeasedNotification>(db, 'notifications-lease-held', [lead.id, lead.channel, lead.target, maxChars, ms]);
}

export async function markSent(db: Queryable, ids: readonly number[]): Promise<void> {
  await execute(db, 'notifications-sent', [ids]);
}

/** A failed attempt: `permanent` fails them for good, otherwise the next attempt is due in `retryInMs`. */
export async function markAttemptFailed(db: Queryable, ids: readonly number[], error: string, permanent: boolean, retryInMs: number): Promise<void> {
  await execute(db, 'notifications-attempt-failed', [ids, error, permanent, retryInMs]);
}

/** How many notifications each channel has in each status (the dashboard's metrics). */
export async function notificationCounts(db: Queryable): Promise<Array<{ channel: string; status: string; n: number }>> {
  return queryRows<{ channel: string; status: string; n: number }>(db, 'notifications-by-status');
}

/**
 * One line on deliveries in trouble for status and the dashboard (null: none): notifications
 * failed for good (a revoked webhook, a refused address) and those being retried (an outage).
 */
export async function deliveryWarning(db: Queryable): Promise<string | null> {
  const t = await queryOne<{ failed: number; retrying: number; last_error: string | null }>(db, 'notifications-trouble');
  if (!t.failed && !t.retrying) return null;
  const parts = [];
  if (t.failed) parts.push(`${t.failed} notification${t.failed === 1 ? '' : 's'} failed for good`);
  if (t.retrying) parts.push(`${t.retrying} being retried`);
  return `Deliveries: ${parts.join(', ')}${t.last_error ? ` (last error: ${t.last_error.slice(0, 200)})` : ''}`;
}
