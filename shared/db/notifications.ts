import type { Queryable } from './pool.js';
import { execute, queryFirst, queryRows } from './sql.js';

export interface NotificationRow {
  id: number;
  dedupe_key: string;
  channel: 'slack' | 'email';
  target: string;
  subject: string;
  body: { text: string; blocks?: unknown[] };
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

export async function getNotification(db: Queryable, id: number): Promise<NotificationRow | undefined> {
  return queryFirst<NotificationRow>(db, 'notification-get', [id]);
}

export async function markSent(db: Queryable, id: number, at: Date): Promise<void> {
  await execute(db, 'notification-sent', [id, at]);
}

export async function markAttemptFailed(db: Queryable, id: number, error: string, final: boolean): Promise<void> {
  await execute(db, 'notification-attempt-failed', [id, error, final]);
}

export async function pendingNotifications(db: Queryable): Promise<number[]> {
  return (await queryRows<{ id: number }>(db, 'notifications-pending')).map((r) => r.id);
}

/** How many notifications each channel has in each status (the dashboard's metrics). */
export async function notificationCounts(db: Queryable): Promise<Array<{ channel: string; status: string; n: number }>> {
  return queryRows<{ channel: string; status: string; n: number }>(db, 'notifications-by-status');
}
