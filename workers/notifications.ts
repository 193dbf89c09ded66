import type { Job } from 'bullmq';
import { leaseHeldWith, leaseNotification, markAttemptFailed, markSent, type LeasedNotification } from '../shared/db/notifications.js';
import type { Runtime } from '../shared/jobs/runtime.js';
import type { NotificationJob } from '../shared/jobs/queues.js';
import { attemptTimeoutMs, HELD_TEXT_BUDGET, heldBackMessage, PermanentDeliveryError, retryDelayMs } from '../shared/notify/delivery.js';
import type { EmailNotifier } from '../shared/notify/email.js';
import type { SlackNotifier } from '../shared/notify/slack.js';

export interface Notifiers {
  slack?: SlackNotifier;
  email?: EmailNotifier;
}

/**
 * One delivery attempt of a recorded notification, under its lease (one attempt in flight per
 * message). A notification that failed before goes out together with the others held back for
 * the same channel and target (after an outage: digests, not a flood). Sent: recorded. Refused for
 * good (see delivery.ts): `failed`. Otherwise the next attempt is due after a capped backoff, and
 * the workers' sweep makes it: retried for as long as the outage lasts. Never throws for a failed
 * delivery (BullMQ's retries are not used); a database error ends the job, and the lease then runs
 * out and the sweep tries again.
 */
export function notificationProcessor(p: Runtime, n: Notifiers) {
  const t = p.cfg.pipeline;
  // the longest an attempt can take, plus a margin for recording its outcome
  const leaseMs = attemptTimeoutMs(Number.MAX_SAFE_INTEGER, t.sendTimeoutMs) + 10_000;
  return async (job: Job<NotificationJob>): Promise<string> => {
    const lead = await leaseNotification(p.pool, job.data.notificationId, leaseMs);
    if (!lead) return 'sent, failed or in flight';
    const batch: LeasedNotification[] = [lead];
    if (lead.attempts > 0) batch.push(...await leaseHeldWith(p.pool, lead, HELD_TEXT_BUDGET - lead.body.text.length, leaseMs));
    const ids = batch.map((b) => b.id);
    const msg = batch.length === 1
      ? { subject: lead.subject, text: lead.body.text, blocks: lead.body.blocks, html: lead.body.html }
      : { ...heldBackMessage(batch), blocks: undefined, html: undefined };
    try {
      if (lead.channel === 'slack') {
        if (!n.slack) throw new PermanentDeliveryError('SLACK_WEBHOOK_URL is not set');
        await n.slack.send(msg.text, msg.blocks, attemptTimeoutMs(lead.attempts, t.sendTimeoutMs));
      } else {
        if (!n.email) throw new PermanentDeliveryError('SMTP_URL is not set');
        await n.email.send(lead.target, msg.subject, msg.text, msg.html);
      }
    } catch (err) {
      const permanent = err instanceof PermanentDeliveryError;
      await markAttemptFailed(p.pool, ids, (err as Error).message, permanent, retryDelayMs(lead.attempts + 1, t.retryBaseMs, t.retryMaxMs));
      return permanent ? `failed: ${(err as Error).message}` : 'retry later';
    }
    await markSent(p.pool, ids);
    return batch.length === 1 ? 'sent' : `sent ${batch.length} together`;
  };
}
