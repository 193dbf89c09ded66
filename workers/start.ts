import { Worker, type ConnectionOptions, type Processor } from 'bullmq';
import type { Redis } from 'ioredis';
import { pendingNotifications } from '../shared/db/notifications.js';
import { openTimers } from '../shared/db/timers.js';
import { EmailNotifier } from '../shared/notify/email.js';
import { SlackNotifier } from '../shared/notify/slack.js';
import { projectsInPhase } from '../shared/db/phases.js';
import type { Runtime } from '../shared/jobs/runtime.js';
import { scheduleTimer } from '../shared/jobs/timers.js';
import { enqueueNotification } from '../shared/notify/outbox.js';
import { QUEUE, type QueueName } from '../shared/jobs/queues.js';
import { eligibilityProcessor } from './eligibility.js';
import { investigationProcessor } from './investigation.js';
import { lingeringProcessor } from './lingering.js';
import { notificationProcessor } from './notifications.js';
import { shadowClockProcessor } from './shadow-clock.js';

export interface Workers {
  workers: Worker[];
  close(): Promise<void>;
}

/**
 * Starts one BullMQ worker per queue. First rebuilds from the database what Redis may have lost:
 * every open timer, every undelivered notification, and an eligibility check per shadow project.
 */
export async function startWorkers(p: Runtime, concurrency = 4): Promise<Workers> {
  const notifiers = {
    slack: p.cfg.slackWebhookUrl ? new SlackNotifier(p.cfg.slackWebhookUrl, p.cfg.slackChannel) : undefined,
    email: p.cfg.smtpUrl ? new EmailNotifier(p.cfg.smtpUrl, p.cfg.mailFrom) : undefined,
  };
  for (const t of await openTimers(p.pool)) await scheduleTimer(p, t);
  for (const id of await pendingNotifications(p.pool)) await enqueueNotification(p, id);
  for (const projectId of await projectsInPhase(p.pool, 'shadow')) await p.queues[QUEUE.eligibility].add('start', { projectId });

  const processors: Record<QueueName, Processor> = {
    [QUEUE.eligibility]: eligibilityProcessor(p),
    [QUEUE.investigation]: investigationProcessor(p),
    [QUEUE.shadowClock]: shadowClockProcessor(p),
    [QUEUE.lingering]: lingeringProcessor(p),
    [QUEUE.notifications]: notificationProcessor(p, notifiers),
  };
  const connections: Redis[] = [];
  const workers = Object.entries(processors).map(([name, fn]) => {
    const connection = p.connection.duplicate();
    connections.push(connection);
    const w = new Worker(name, fn, {
      connection: connection as unknown as ConnectionOptions,
      prefix: p.cfg.redisPrefix,
      concurrency: name === QUEUE.notifications ? concurrency * 4 : concurrency,
    });
    w.on('error', (err) => console.error(`shadowgate worker ${name}: ${err.message}`));
    return w;
  });
  return {
    workers,
    async close() {
      await Promise.all(workers.map((w) => w.close())); // finishes the jobs in hand
      for (const c of connections) c.disconnect(); // ours: BullMQ leaves a given connection open
      notifiers.email?.close();
    },
  };
}
