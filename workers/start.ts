import { Worker, type ConnectionOptions, type Processor } from 'bullmq';
import type { Redis } from 'ioredis';
import { EmailNotifier } from '../shared/notify/email.js';
import { SlackNotifier } from '../shared/notify/slack.js';
import type { Runtime } from '../shared/jobs/runtime.js';
import { outageLog } from '../shared/jobs/outage-log.js';
import { QUEUE, type QueueName } from '../shared/jobs/queues.js';
import { Sweeper } from '../shared/jobs/sweep.js';
import { eligibilityProcessor } from './eligibility.js';
import { investigationProcessor } from './investigation.js';
import { lingeringProcessor } from './lingering.js';
import { notificationProcessor } from './notifications.js';

export interface Workers {
  workers: Worker[];
  close(): Promise<void>;
}

/**
 * Starts one BullMQ worker per queue, and the sweeper beside them: it turns what the database says
 * is due (timers, delivery attempts) into jobs and reconciles the rest at start and every minute,
 * so Redis may lose everything at any moment (see shared/jobs/sweep.ts).
 */
export async function startWorkers(p: Runtime, concurrency = 4): Promise<Workers> {
  const notifiers = {
    slack: p.cfg.slackWebhookUrl ? new SlackNotifier(p.cfg.slackWebhookUrl, p.cfg.slackChannel) : undefined,
    email: p.cfg.smtpUrl ? new EmailNotifier(p.cfg.smtpUrl, p.cfg.mailFrom, p.cfg.pipeline.sendTimeoutMs) : undefined,
  };
  const processors: Record<QueueName, Processor> = {
    [QUEUE.eligibility]: eligibilityProcessor(p),
    [QUEUE.investigation]: investigationProcessor(p),
    [QUEUE.lingering]: lingeringProcessor(p),
    [QUEUE.notifications]: notificationProcessor(p, notifiers),
  };
  const connections: Redis[] = [];
  const workers = Object.entries(processors).map(([name, fn]) => {
    const connection = p.connection.duplicate();
    connection.on('error', () => undefined); // reconnects on its own; the worker reports
    connections.push(connection);
    const w = new Worker(name, fn, {
      connection: connection as unknown as ConnectionOptions,
      prefix: p.cfg.redisPrefix,
      concurrency: name === QUEUE.notifications ? concurrency * 4 : concurrency,
    });
    w.on('error', outageLog(`worker ${name}`));
    return w;
  });
  const sweeper = new Sweeper(p);
  sweeper.start();
  return {
    workers,
    async close() {
      await sweeper.stop();
      await Promise.all(workers.map((w) => w.close())); // finishes the jobs in hand
      for (const c of connections) c.disconnect(); // ours: BullMQ leaves a given connection open
      notifiers.email?.close();
    },
  };
}
