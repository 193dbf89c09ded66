import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, HOUR, ManualClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { closeRuntime, openRuntime, type Runtime } from '../shared/jobs/runtime.js';
import { EventProducer } from '../producers/event-producer.js';
import { startWorkers, type Workers } from '../workers/start.js';
import { review } from '../shared/db/violations.js';
import { createTestDb, type TestDb } from './support/db.js';
import { createDocs, seedProjects, setPhase } from './support/seed.js';
import { transactions } from '../fixtures/traffic.js';
import { slackSink, smtpSink, until } from './support/sinks.js';
import pg from 'pg';

let db: TestDb & { grantApp(): Promise<void> };
let slack: Awaited<ReturnType<typeof slackSink>>;
let smtp: Awaited<ReturnType<typeof smtpSink>>;
let p: Runtime;
let workers: Workers;
let producer: EventProducer;
const clock = new ManualClock(new Date());
const prefix = `sgtest-pipeline-${randomBytes(4).toString('hex')}`;

async function start(): Promise<void> {
  workers = await startWorkers(p);
  producer = new EventProducer(p, 200);
  await producer.start();
}
async function stop(): Promise<void> {
  await producer.stop();
  await workers.close();
}
const fingerprintsOf = async (project: string) =>
  (await db.pool.query('SELECT id, open_since FROM shadowgate.violation_fingerprints WHERE project_id = $1 ORDER BY id', [project])).rows;

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  await seedProjects(db.pool);
  await createDocs(db.pool, 3);
  await db.grantApp();
  slack = await slackSink(2); // Slack answers 500 twice, then 200
  smtp = await smtpSink();
  const cfg = loadConfig({ DATABASE_URL: db.url, SLACK_WEBHOOK_URL: slack.url, SMTP_URL: smtp.url, SHADOWGATE_REDIS_PREFIX: prefix, SHADOWGATE_VIOLATION_WINDOW_SECONDS: '3600', SHADOWGATE_RETRY_BASE_MS: '20', SHADOWGATE_SWEEP_MS: '50' });
  p = await openRuntime(cfg, { clock });
  await start();
});

afterAll(async () => {
  await stop();
  await closeRuntime(p, { forgetQueues: true });
  await slack.close();
  await smtp.close();
  await db.drop();
});

describe('real-time violations', () => {
  it('a would-be denial becomes one Slack message, delivered once although Slack failed twice', async () => {
    await setPhase(db.pool, 'sm', 'shadow');
    await transactions(db.app, 'sm', 1, `SELECT count(*) FROM docs WHERE project_id = 'aa'`);
    await until(() => slack.messages.length >= 1);
    expect(slack.requests).toBe(3);
    expect(slack.messages[0]?.text).toContain('sm: would-be denied SELECT on public.docs (cross-tenant read)');
    expect(slack.messages[0]?.blocks).toBeDefined();
    // more of the same fingerprint inside the window: no new message, the count runs on
    await transactions(db.app, 'sm', 3, `SELECT count(*) FROM docs WHERE project_id = 'aa'`);
    await until(async () => (await db.pool.query(`SELECT occurrences FROM shadowgate.violation_fingerprints`)).rows[0]?.occurrences === 12);
    await new Promise((r) => setTimeout(r, 300));
    expect(slack.messages.filter((m) => m.text.includes('would-be denied'))).toHaveLength(1);
  });

  it('replaying every event enqueues nothing twice', async () => {
    const before = slack.requests;
    await db.pool.query(`UPDATE shadowgate.event_position SET done = '1:1:', target = NULL WHERE name = 'events'`);
    await producer.wake();
    await new Promise((r) => setTimeout(r, 500));
    expect(slack.requests).toBe(before);
  });

  it('events committed while the producer is down are handled once after it restarts', async () => {
    await producer.stop();
    await setPhase(db.pool, 'motoko', 'shadow');
    await transactions(db.app, 'motoko', 1, `SELECT count(*) FROM docs WHERE project_id = 'ea'`);
    expect(slack.messages.some((m) => m.text.includes('motoko'))).toBe(false);
    producer = new EventProducer(p, 200);
    await producer.start();
    await until(() => slack.messages.some((m) => m.text.includes('motoko: would-be denied')));
    await new Promise((r) => setTimeout(r, 300));
    expect(slack.messages.filter((m) => m.text.includes('motoko: would-be denied'))).toHaveLength(1);
  });
});

describe('floods', () => {
  it('200 new fingerprints in a burst become a few digests that name every one of them', async () => {
    const before = slack.messages.length;
    await Promise.all(Array.from({ length: 8 }, async (_, k) => {
      const c = await db.app.connect();
      for (let i = k; i < 200; i += 8) {
        await c.query('BEGIN');
        await c.query(`SELECT shadowgate.set_project_context('sm')`);
        await c.query(`INSERT INTO docs (project_id, body) VALUES ($1, 'flood')`, [`flood${i}`]);
        await c.query('COMMIT');
      }
      c.release();
    }));
    const named = () => new Set(slack.messages.slice(before).flatMap((m) => [...m.text.matchAll(/owner (flood\d+)/g)].map((x) => x[1])));
    await until(() => named().size === 200);
    expect(slack.messages.length - before).toBeLessThan(100); // one message per producer batch, not per violation
  });
});

describe('wake-ups', () => {
  it('a burst from one session notifies a few times, and every row arrives without waiting for the poll', async () => {
    await producer.stop();
    producer = new EventProducer(p, 3_600_000); // no poll to fall back on
    await producer.start();
    let hints = 0;
    const sub = new pg.Client({ connectionString: db.url });
    await sub.connect();
    sub.on('notification', (n) => { if (n.payload === 'audit') hints++; });
    await sub.query('LISTEN shadowgate');
    try {
      const c = await db.app.connect();
      for (let i = 0; i < 20; i++) {
        await c.query('BEGIN');
        await c.query(`SELECT shadowgate.set_project_context('sm')`);
        await c.query(`INSERT INTO docs (project_id, body) VALUES ($1, 'burst')`, [`burst${i}`]);
        await c.query('COMMIT');
      }
      c.release();
      const absorbed = async () => (await db.pool.query(
        `SELECT count(*)::int AS n FROM shadowgate.violation_fingerprints WHERE row_project_id LIKE 'burst%'`)).rows[0].n;
      await until(async () => (await absorbed()) === 20, 3000);
      await until(() => hints > 0, 1000);
      expect(hints).toBeLessThan(20); // a session notifies at most every 50 ms
    } finally {
      await sub.end();
      await producer.stop();
      producer = new EventProducer(p, 200);
      await producer.start();
    }
  });
});

describe('the 48-hour investigation timer', () => {
  it('escalates to the lead (Slack and email) when unreviewed, and stays silent once reviewed', async () => {
    const [fp] = await fingerprintsOf('sm');
    const timer = (await db.pool.query(`SELECT * FROM shadowgate.timers WHERE kind = 'investigation' AND subject = $1`, [String(fp.id)])).rows[0];
    // due 48 hours after it was first seen (by the database, or by the workers' clock if that is behind)
    expect(timer.due_at.getTime() - timer.opened_at.getTime()).toBe(48 * HOUR);
    expect(timer.opened_at.getTime()).toBeLessThanOrEqual(fp.open_since.getTime());
    expect(fp.open_since.getTime() - timer.opened_at.getTime()).toBeLessThan(60_000);
    // the workers' sweep fires every investigation due on their clock: sm's come due together
    const names = (text: string) => new RegExp(`#${fp.id}\\b`).test(text);
    clock.set(new Date(timer.due_at.getTime() + 1000));
    await until(() => smtp.mails.some((m) => m.to.includes('sm-lead@example.com') && m.data.includes('ESCALATION') && names(m.data)));
    await until(() => slack.messages.some((m) => m.text.includes('ESCALATION') && names(m.text)));
    expect(smtp.mails.filter((m) => m.to.includes('sm-lead@example.com'))).toHaveLength(1); // one message per lead, not one per fingerprint

    await review(db.pool, { fingerprintIds: [fp.id], resolution: 'code-fix', ref: 'https://git/pr/7', actor: 't', at: clock.now() });
    const before = smtp.mails.length;
    clock.advance(DAY + HOUR); // every other investigation of sm reminds; the reviewed one stays silent
    await until(() => smtp.mails.slice(before).some((m) => m.to.includes('sm-lead@example.com') && m.data.includes('ESCALATION')));
    expect(smtp.mails.slice(before).filter((m) => names(m.data))).toHaveLength(0);
    const closed = (await db.pool.query('SELECT closed_at FROM shadowgate.timers WHERE id = $1', [timer.id])).rows[0];
    expect(closed.closed_at).not.toBeNull();
  });

  it('with Redis flushed, due timers still fire: the sweep reads them from the database', async () => {
    const [fp] = await fingerprintsOf('motoko');
    const t = (await db.pool.query(`SELECT id, fired FROM shadowgate.timers WHERE kind = 'investigation' AND subject = $1 AND closed_at IS NULL`, [String(fp.id)])).rows[0];
    const keys = await p.connection.keys(`${prefix}:*`);
    await p.connection.del(...keys);
    clock.advance(DAY + HOUR);
    await until(async () => (await db.pool.query('SELECT fired FROM shadowgate.timers WHERE id = $1', [t.id])).rows[0].fired === t.fired + 1);
    await until(() => smtp.mails.some((m) => m.to.includes('motoko-lead@example.com') && m.data.includes(`#${fp.id} in motoko`)));
  });
});
