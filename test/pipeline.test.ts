import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DAY, HOUR } from '../shared/clock.js';
import { findOpenTimer, getTimer, type Timer } from '../shared/db/timers.js';
import { fingerprints, review } from '../shared/db/violations.js';
import { createTemplateDb, type TemplateDb, type TestDb } from './support/db.js';
import { startPipeline, type PipelineOptions, type TestPipeline } from './support/pipeline.js';
import { seedDocsAndGrant, setPhase } from './support/seed.js';
import { transactions } from '../fixtures/traffic.js';
import { until } from './support/sinks.js';
import pg from 'pg';

// Every test runs its own pipeline (Slack, SMTP, Redis prefix, clock) on its own copy of the seeded
// database, and builds what it needs itself: it can run alone (-t) or in any order.
let template: TemplateDb;
let db: TestDb | undefined;
let pipe: TestPipeline | undefined;

/** The test's database and pipeline (violations announced within the hour: once each). */
async function world(o: PipelineOptions = {}): Promise<TestDb & TestPipeline> {
  db = await template.copy();
  pipe = await startPipeline(db, { ...o, env: { SHADOWGATE_VIOLATION_WINDOW_SECONDS: '3600', ...o.env } });
  return Object.assign(pipe, db);
}

beforeAll(async () => {
  template = await createTemplateDb(import.meta.url, (t) => seedDocsAndGrant(t, 3));
});
afterEach(async () => {
  await pipe?.close();
  await db?.drop();
  pipe = undefined;
  db = undefined;
});
afterAll(async () => template?.drop());

/** Named fixture: `project` in shadow has read the rows of each of `owners` once (one fingerprint each). */
async function readsOf(w: TestDb, project: string, owners: readonly string[]): Promise<void> {
  await setPhase(w.pool, project, 'shadow');
  for (const o of owners) await transactions(w.app, project, 1, `SELECT count(*) FROM docs WHERE project_id = '${o}'`);
}

/** Named fixture: the open investigation of each of `project`'s fingerprints, once the producer has opened them all. */
async function investigations(w: TestDb, project: string, n: number): Promise<Array<{ fp: number; openSince: Date; timer: Timer }>> {
  let found: Array<{ fp: number; openSince: Date; timer: Timer }> = [];
  await until(async () => {
    const fps = (await fingerprints(w.pool, project)).filter((f) => f.id !== null && f.open_since);
    found = [];
    for (const f of fps) {
      const timer = await findOpenTimer(w.pool, 'investigation', String(f.id));
      if (timer) found.push({ fp: f.id!, openSince: f.open_since!, timer });
    }
    return found.length === n;
  });
  return found.sort((a, b) => a.fp - b.fp);
}

describe('real-time violations', () => {
  it('a would-be denial becomes one Slack message, delivered once although Slack failed twice', async () => {
    const w = await world({ slackFailures: 2 }); // Slack answers 500 twice, then 200
    await readsOf(w, 'sm', ['aa']);
    await until(() => w.slack.messages.length >= 1);
    expect(w.slack.requests).toBe(3);
    expect(w.slack.messages[0]?.text).toContain('sm: would-be denied SELECT on public.docs (cross-tenant read)');
    expect(w.slack.messages[0]?.blocks).toBeDefined();
    // more of the same fingerprint inside the window: no new message, the count runs on
    await transactions(w.app, 'sm', 3, `SELECT count(*) FROM docs WHERE project_id = 'aa'`);
    await until(async () => (await fingerprints(w.pool, 'sm'))[0]?.occurrences === 12);
    await w.settled();
    expect(w.slack.messages.filter((m) => m.text.includes('would-be denied'))).toHaveLength(1);
  });

  it('replaying every event enqueues nothing twice', async () => {
    const w = await world();
    await readsOf(w, 'sm', ['aa', 'motoko']);
    await until(() => w.slack.messages.some((m) => m.text.includes('would-be denied')));
    await w.settled();
    const before = w.slack.requests;
    // the position back to the beginning (no function moves it back: a replay is what it prevents)
    await w.pool.query(`UPDATE shadowgate.event_position SET done = '1:1:', target = NULL WHERE name = 'events'`);
    await w.settled();
    expect(w.slack.requests).toBe(before);
  });

  it('events committed while the producer is down are handled once after it restarts', async () => {
    const w = await world();
    await w.stopProducer();
    await readsOf(w, 'motoko', ['ea']);
    expect(w.slack.messages.some((m) => m.text.includes('motoko'))).toBe(false);
    await w.startProducer();
    await until(() => w.slack.messages.some((m) => m.text.includes('motoko: would-be denied')));
    await w.settled();
    expect(w.slack.messages.filter((m) => m.text.includes('motoko: would-be denied'))).toHaveLength(1);
  });
});

describe('floods', () => {
  it('200 new fingerprints in a burst become a few digests that name every one of them', async () => {
    const w = await world();
    await setPhase(w.pool, 'sm', 'shadow');
    await Promise.all(Array.from({ length: 8 }, async (_, k) => {
      const c = await w.app.connect();
      for (let i = k; i < 200; i += 8) {
        await c.query('BEGIN');
        await c.query(`SELECT shadowgate.set_project_context('sm')`);
        await c.query(`INSERT INTO docs (project_id, body) VALUES ($1, 'flood')`, [`flood${i}`]);
        await c.query('COMMIT');
      }
      c.release();
    }));
    const named = () => new Set(w.slack.messages.flatMap((m) => [...m.text.matchAll(/owner (flood\d+)/g)].map((x) => x[1])));
    await until(() => named().size === 200);
    expect(w.slack.messages.length).toBeLessThan(100); // one message per producer batch, not per violation
  });
});

describe('wake-ups', () => {
  it('a burst from one session notifies a few times, and every row arrives without waiting for the poll', async () => {
    const w = await world({ pollMs: 3_600_000 }); // no poll to fall back on
    await setPhase(w.pool, 'sm', 'shadow');
    let hints = 0;
    const sub = new pg.Client({ connectionString: w.url });
    await sub.connect();
    sub.on('notification', (n) => { if (n.payload === 'audit') hints++; });
    await sub.query('LISTEN shadowgate');
    try {
      const c = await w.app.connect();
      for (let i = 0; i < 20; i++) {
        await c.query('BEGIN');
        await c.query(`SELECT shadowgate.set_project_context('sm')`);
        await c.query(`INSERT INTO docs (project_id, body) VALUES ($1, 'burst')`, [`burst${i}`]);
        await c.query('COMMIT');
      }
      c.release();
      // fingerprints() only reads: what it finds, the producer absorbed
      const absorbed = async () => (await fingerprints(w.pool, 'sm')).filter((f) => f.row_project_id?.startsWith('burst')).length;
      await until(async () => (await absorbed()) === 20, 3000);
      await until(() => hints > 0, 1000);
      expect(hints).toBeLessThan(20); // a session notifies at most every 50 ms
    } finally {
      await sub.end();
    }
  });
});

describe('the 48-hour investigation timer', () => {
  it('escalates to the lead (Slack and email) when unreviewed, and stays silent once reviewed', async () => {
    const w = await world();
    await readsOf(w, 'sm', ['aa', 'motoko', 'ea']);
    const [first, ...others] = await investigations(w, 'sm', 3);
    const { fp, openSince, timer } = first!;
    // due 48 hours after it was first seen (by the database, or by the workers' clock if that is behind)
    expect(timer.due_at.getTime() - timer.opened_at.getTime()).toBe(48 * HOUR);
    expect(timer.opened_at.getTime()).toBeLessThanOrEqual(openSince.getTime());
    expect(openSince.getTime() - timer.opened_at.getTime()).toBeLessThan(60_000);
    // the workers' sweep fires every investigation due on their clock: sm's come due together
    const names = (id: number, text: string) => new RegExp(`#${id}\\b`).test(text);
    const latest = Math.max(...[first!, ...others].map((i) => i.timer.due_at.getTime()));
    w.clock.set(new Date(latest + 1000));
    await until(() => w.smtp.mails.some((m) => m.to.includes('sm-lead@example.com') && m.data.includes('ESCALATION') && names(fp, m.data)));
    await until(() => w.slack.messages.some((m) => m.text.includes('ESCALATION') && names(fp, m.text)));
    await w.settled();
    const toLead = w.smtp.mails.filter((m) => m.to.includes('sm-lead@example.com'));
    expect(toLead).toHaveLength(1); // one message per lead, not one per fingerprint
    for (const o of others) expect(names(o.fp, toLead[0]!.data)).toBe(true);

    await review(w.pool, { fingerprintIds: [fp], resolution: 'code-fix', ref: 'https://git/pr/7', actor: 't', at: w.clock.now() });
    const before = w.smtp.mails.length;
    w.clock.advance(DAY + HOUR); // every other investigation of sm reminds; the reviewed one stays silent
    await until(() => w.smtp.mails.slice(before).some((m) => m.to.includes('sm-lead@example.com') && m.data.includes('ESCALATION')));
    await w.settled();
    const reminders = w.smtp.mails.slice(before);
    expect(reminders.filter((m) => names(fp, m.data))).toHaveLength(0);
    for (const o of others) expect(reminders.some((m) => names(o.fp, m.data))).toBe(true);
    expect((await getTimer(w.pool, timer.id))?.closed_at).not.toBeNull();
  });

  it('with Redis flushed, due timers still fire: the sweep reads them from the database', async () => {
    const w = await world();
    await readsOf(w, 'motoko', ['ea']);
    const [inv] = await investigations(w, 'motoko', 1);
    const { fp, timer } = inv!;
    await w.settled();
    const keys = await w.rt.connection.keys(`${w.rt.cfg.redisPrefix}:*`);
    expect(keys.length).toBeGreaterThan(0);
    await w.rt.connection.del(...keys);
    w.clock.set(new Date(timer.due_at.getTime() + 1000));
    await until(async () => (await getTimer(w.pool, timer.id))?.fired === timer.fired + 1);
    await until(() => w.smtp.mails.some((m) => m.to.includes('motoko-lead@example.com') && m.data.includes(`#${fp} in motoko`)));
  });
});
