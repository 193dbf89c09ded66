import type { Queryable } from './pool.js';

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
  const { rows } = await db.query<{ id: number }>(
    `INSERT INTO shadowgate.notifications (dedupe_key, channel, target, subject, body) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (dedupe_key, channel) DO NOTHING RETURNING id`,
    [n.dedupeKey, n.channel, n.target, n.subject, n.body]);
  return rows[0]?.id ?? null;
}

export async function getNotification(db: Queryable, id: number): Promise<NotificationRow | undefined> {
  return (await db.query<NotificationRow>('SELECT * FROM shadowgate.notifications WHERE id = $1', [id])).rows[0];
}

export async function markSent(db: Queryable, id: number, at: Date): Promise<void> {
  await db.query(`UPDATE shadowgate.notifications SET status = 'sent', sent_at = $2, attempts = attempts + 1 WHERE id = $1`, [id, at]);
}

export async function markAttemptFailed(db: Queryable, id: number, error: string, final: boolean): Promise<void> {
  await db.query(
    `UPDATE shadowgate.notifications SET attempts = attempts + 1, last_error = $2, status = CASE WHEN $3 THEN 'failed' ELSE status END WHERE id = $1`,
    [id, error, final]);
}

export async function pendingNotifications(db: Queryable): Promise<number[]> {
  return (await db.query<{ id: number }>(`SELECT id FROM shadowgate.notifications WHERE status = 'pending' ORDER BY id`)).rows.map((r) => r.id);
}
