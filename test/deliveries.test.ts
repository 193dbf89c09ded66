import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../shared/config.js';
import { closeRuntime, openRuntime, type Runtime } from '../shared/jobs/runtime.js';
import { notify } from '../shared/notify/outbox.js';
import { startWorkers, type Workers } from '../workers/start.js';
import { EventProducer } from '../producers/event-producer.js';
import { createTestDb, type TestDb } from './support/db.js';
import { flakySlack, type FlakySlack } from './support/faults.js';
import { cli } from './support/cli.js';
import { until } from './support/sinks.js';

let db: TestDb;
let slack: FlakySlack;
let p: Runtime;
let workers: Workers;
const prefix = `sgtest-deliveries-${randomBytes(4).toString('hex')}`;
const env = () => ({ DATABASE_URL: db.url, SLACK_WEBHOOK_URL: slack.url, SHADOWGATE_REDIS_PREFIX: prefix });
const row = async (key: string) =>
  (await db.pool.query(`SELECT status, attempts, last_error FROM shadowgate.notifications WHERE dedupe_key = $1`, [key])).rows[0];

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  slack = await flakySlack();
  // a generous timeout of 1 s, doubled after each failed attempt; retries 20 ms doubling to 100 ms
  p = await openRuntime(loadConfig({ ...env(), SHADOWGATE_SEND_TIMEOUT_MS: '1000', SHADOWGATE_RETRY_BASE_MS: '20', SHADOWGATE_RETRY_MAX_MS: '100', SHADOWGATE_SWEEP_MS: '50' }));
  workers = await startWorkers(p);
});

afterAll(async () => {
  await workers.close();
  await closeRuntime(p, { forgetQueues: true });
  await slack.close();
  await db.drop();
});

describe('deliveries', () => {
  it('a revoked webhook (404) fails the message at once, for good, and says so in status and health', async () => {
    slack.status = 404;
    const before = slack.requests;
    await notify(p, 'test:revoked', { subject: 's', text: 'revoked webhook test', blocks: [] });
    await until(async () => (await row('test:revoked'))?.status === 'failed');
    expect((await row('test:revoked')).last_error).toContain('HTTP 404');
    expect(slack.requests - before).toBe(1); // never retried
    const status = await cli(['status'], env());
    expect(status.stdout).toContain('1 notification failed for good (last error: Slack refused the message: HTTP 404');
    const health = JSON.parse((await cli(['health', '--json'], env())).stdout);
    expect(health.failedDeliveries).toBe(1);
    slack.status = undefined;
  });

  it('Slack answering 429 and 503 for a while: retried with capped backoff until it goes out', async () => {
    slack.status = 429;
    await notify(p, 'test:outage', { subject: 's', text: 'outage test', blocks: [] });
    await until(async () => (await row('test:outage'))?.attempts >= 5);
    slack.status = undefined;
    slack.refuse = true; // 503
    const attempts = (await row('test:outage')).attempts;
    await until(async () => (await row('test:outage')).attempts >= attempts + 5);
    expect((await row('test:outage')).status).toBe('pending');
    slack.refuse = false;
    await until(async () => (await row('test:outage')).status === 'sent');
    expect(slack.messages.filter((m) => m.text.includes('outage test'))).toHaveLength(1);
  });

  it('a slow endpoint (answers after the client timeout): at most one duplicate', async () => {
    slack.delayMs = 1500; // past the first attempt's 1 s, within the second's 2 s
    const before = slack.requests;
    await notify(p, 'test:slow', { subject: 's', text: 'slow endpoint test', blocks: [] });
    await until(async () => (await row('test:slow'))?.status === 'sent');
    await until(() => slack.inFlight === 0);
    slack.delayMs = 0;
    expect(slack.requests - before).toBe(2);
    expect(slack.messages.filter((m) => m.text.includes('slow endpoint test')).length).toBeLessThanOrEqual(2);
  });

  it('copies of a delivery job (a sweep, a replay, a restart) make one attempt at a time and one message', async () => {
    slack.delayMs = 400;
    slack.maxInFlight = 0;
    const [id] = (await db.pool.query(
      `INSERT INTO shadowgate.notifications (dedupe_key, channel, target, subject, body)
       VALUES ('test:copies', 'slack', '#devops', 's', '{"text": "copies test"}') RETURNING id`)).rows.map((r) => r.id);
    await p.queues.notifications.addBulk([1, 2, 3].map((k) => ({ name: 'send', data: { notificationId: id }, opts: { jobId: `copy-${id}-${k}` } })));
    await until(async () => (await row('test:copies'))?.status === 'sent');
    await until(() => slack.inFlight === 0);
    slack.delayMs = 0;
    expect(slack.maxInFlight).toBe(1);
    expect(slack.messages.filter((m) => m.text.includes('copies test'))).toHaveLength(1);
  });

  it('health: exit 1 while nothing makes progress, 0 once a producer and workers do', async () => {
    await db.pool.query('DELETE FROM shadowgate.pipeline_heartbeats');
    const down = await cli(['health', '--max-age', '5'], env());
    expect(down.code).toBe(1);
    expect(down.stdout).toContain('no producer process has ever made progress');
    const producer = new EventProducer(p, 100);
    await producer.start();
    try {
      await until(async () => (await cli(['health', '--max-age', '5'], env())).code === 0, 20_000);
    } finally {
      await producer.stop();
    }
  });
});
