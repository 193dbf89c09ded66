import { randomBytes } from 'node:crypto';
import { ManualClock } from '../../shared/clock.js';
import { loadConfig } from '../../shared/config.js';
import { notificationCounts } from '../../shared/db/notifications.js';
import { closeRuntime, openRuntime, type Runtime } from '../../shared/jobs/runtime.js';
import { EventProducer } from '../../producers/event-producer.js';
import { startWorkers, type Workers } from '../../workers/start.js';
import type { TestDb } from './db.js';
import { slackSink, smtpSink, until } from './sinks.js';

/**
 * Named fixture: the real-time pipeline of one test, in-process: its own local Slack and SMTP, its
 * own Redis prefix and clock, the workers and a producer on the test's database.
 */
export interface TestPipeline {
  rt: Runtime;
  clock: ManualClock;
  slack: Awaited<ReturnType<typeof slackSink>>;
  smtp: Awaited<ReturnType<typeof smtpSink>>;
  producer: EventProducer;
  /** stops the producer (committed events wait for the next one) */
  stopProducer(): Promise<void>;
  /** a new producer, polling every `pollMs` */
  startProducer(pollMs?: number): Promise<void>;
  /**
   * Waits until the pipeline has done everything committed so far: a producer drain that began
   * after the call has finished (every event taken), no job waits or runs in any queue, and no
   * notification is pending. What it did not send by then it did not send at all.
   */
  settled(ms?: number): Promise<void>;
  close(): Promise<void>;
}

export interface PipelineOptions {
  /** Slack answers 500 to this many requests first */
  slackFailures?: number;
  /** the producer's poll (ms) */
  pollMs?: number;
  /** more settings (SHADOWGATE_…) */
  env?: Record<string, string>;
}

export async function startPipeline(db: TestDb, o: PipelineOptions = {}): Promise<TestPipeline> {
  const slack = await slackSink(o.slackFailures ?? 0);
  const smtp = await smtpSink();
  const clock = new ManualClock(new Date());
  const rt = await openRuntime(loadConfig({
    DATABASE_URL: db.url, SLACK_WEBHOOK_URL: slack.url, SMTP_URL: smtp.url,
    SHADOWGATE_REDIS_PREFIX: `sgtest-pipeline-${randomBytes(4).toString('hex')}`,
    SHADOWGATE_RETRY_BASE_MS: '20', SHADOWGATE_SWEEP_MS: '50', ...o.env,
  }), { clock });
  const workers: Workers = await startWorkers(rt);
  const t: TestPipeline = {
    rt, clock, slack, smtp,
    producer: new EventProducer(rt, o.pollMs ?? 200),
    async stopProducer() {
      await t.producer.stop();
    },
    async startProducer(pollMs = o.pollMs ?? 200) {
      t.producer = new EventProducer(rt, pollMs);
      await t.producer.start();
    },
    async settled(ms = 10_000) {
      await t.producer.wake();
      await until(async () => {
        const jobs = await Promise.all(Object.values(rt.queues).map((q) => q.getJobCounts('waiting', 'active', 'prioritized')));
        if (jobs.some((c) => Object.values(c).some((n) => n > 0))) return false;
        return (await notificationCounts(rt.pool)).every((c) => c.status !== 'pending');
      }, ms);
    },
    async close() {
      await t.producer.stop();
      await workers.close();
      await closeRuntime(rt, { forgetQueues: true });
      await slack.close();
      await smtp.close();
    },
  };
  await t.producer.start();
  return t;
}
