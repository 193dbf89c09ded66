import { createHash } from 'node:crypto';
import type { Queryable } from '../db/pool.js';
import { createNotification } from '../db/notifications.js';
import { jobId, QUEUE } from '../jobs/queues.js';
import type { Runtime } from '../jobs/runtime.js';
import { emailParts, type Message } from './messages.js';

/**
 * Records a message for Slack and, when given, the email recipients, once per dedupe key. Returns
 * the ids of the new ones: enqueue them (`enqueueNotification`) after the transaction commits.
 */
export async function recordNotification(
  p: Runtime, db: Queryable, dedupeKey: string, msg: Message, emails: Array<string | null | undefined> = [],
): Promise<number[]> {
  const targets: Array<{ channel: 'slack' | 'email'; target: string }> = [{ channel: 'slack', target: p.cfg.slackChannel }];
  for (const e of new Set(emails.filter((x): x is string => !!x))) targets.push({ channel: 'email', target: e });
  const ids: number[] = [];
  for (const t of targets) {
    const key = boundedKey(t.channel === 'email' ? `${dedupeKey}|${t.target}` : dedupeKey);
    // an email carries the links and an HTML part; Slack gets the blocks
    const body = t.channel === 'email' ? emailParts(msg, p.cfg.dashboardUrl) : { text: msg.text, blocks: msg.blocks };
    const id = await createNotification(db, { dedupeKey: key, channel: t.channel, target: t.target, subject: msg.subject, body });
    if (id !== null) ids.push(id);
  }
  return ids;
}

/** Records a message (see recordNotification) and enqueues its deliveries. */
export async function notify(p: Runtime, dedupeKey: string, msg: Message, emails: Array<string | null | undefined> = []): Promise<number> {
  const ids = await recordNotification(p, p.pool, dedupeKey, msg, emails);
  for (const id of ids) await enqueueNotification(p, id);
  return ids.length;
}

/**
 * A dedupe key as stored: a key longer than this is replaced by its SHA-256 (the unique index takes
 * at most ~2,700 bytes; a digest of hundreds of fingerprints named them all).
 */
export const DEDUPE_KEY_MAX = 200;
export const boundedKey = (key: string) =>
  key.length <= DEDUPE_KEY_MAX ? key : `sha256:${createHash('sha256').update(key).digest('hex')}`;

/** Options of a notification's first delivery job (gone once done: the database says whether another is due). */
export const notificationJobOptions = (id: number) => ({ jobId: jobId('notif', id, 0), removeOnComplete: true, removeOnFail: true });

/**
 * The first delivery attempt of a recorded notification, right away. Later attempts are made by
 * the workers' sweep when the database says they are due (`sweepDue`), so this job is only the fast
 * path: lost with Redis, the sweep makes it again.
 */
export async function enqueueNotification(p: Runtime, id: number): Promise<void> {
  await p.queues[QUEUE.notifications].add('send', { notificationId: id }, notificationJobOptions(id));
}
