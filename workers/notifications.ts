import type { Job } from 'bullmq';
import { getNotification, markAttemptFailed, markSent } from '../shared/db/notifications.js';
import type { EmailNotifier } from '../shared/notify/email.js';
import type { SlackNotifier } from '../shared/notify/slack.js';
import type { Runtime } from '../shared/jobs/runtime.js';
import type { NotificationJob } from '../shared/jobs/queues.js';

export interface Notifiers {
  slack?: SlackNotifier;
  email?: EmailNotifier;
}

/** Delivers a recorded notification once; failures are recorded and retried with backoff. */
export function notificationProcessor(p: Runtime, n: Notifiers) {
  return async (job: Job<NotificationJob>): Promise<string> => {
    const row = await getNotification(p.pool, job.data.notificationId);
    if (!row || row.status !== 'pending') return 'done already';
    const final = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
    try {
      if (row.channel === 'slack') {
        if (!n.slack) throw new Error('SLACK_WEBHOOK_URL is not set');
        await n.slack.send(row.body.text, row.body.blocks);
      } else {
        if (!n.email) throw new Error('SMTP_URL is not set');
        await n.email.send(row.target, row.subject, row.body.text);
      }
    } catch (err) {
      await markAttemptFailed(p.pool, row.id, (err as Error).message, final);
      throw err;
    }
    await markSent(p.pool, row.id, new Date());
    return 'sent';
  };
}
