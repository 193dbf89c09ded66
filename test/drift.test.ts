import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY, systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import type { Queryable } from '../shared/db/pool.js';
import { closeRuntime, openRuntime } from '../shared/jobs/runtime.js';
import { EventProducer } from '../producers/event-producer.js';
import { DriftWatch } from '../producers/drift-watch.js';
import { startWorkers } from '../workers/start.js';
import { dropRoles, createTestDb, type TestDb } from './support/db.js';
import { cli } from './support/cli.js';
import { seedDocsAndGrant, setPhase } from './support/seed.js';
import { clockResets, statsOf } from './support/rollout.js';
import { transactions } from '../fixtures/traffic.js';
import { slackSink, until } from './support/sinks.js';

let db: TestDb & { grantApp(): Promise<void> };
let reader: string; // a role of this run with SELECT on public.docs
const extraRoles: string[] = [];
const ago = (days: number) => new Date(Date.now() - days * DAY);

/** When `p`'s shadow clock started, as `db` (a pool, or a transaction's client) sees it. */
async function clockOf(p: string, on: Queryable = db.pool): Promise<Date> {
  return (await statsOf(on, p)).shadowStartedAt!;
}
const resets = (p: string) => clockResets(db.pool, p);
/** A project in shadow whose clock started 3 days ago. */
async function shadowSince3Days(p: string): Promise<void> {
  await setPhase(db.pool, p, 'shadow', ago(3));
}

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  await seedDocsAndGrant(db, 2);
  reader = `${db.appRole}_reader`;
  extraRoles.push(reader);
  await db.pool.query(`CREATE ROLE "${reader}" LOGIN`);
  await db.pool.query(`GRANT SELECT ON public.docs TO "${reader}"`);
});
afterAll(async () => {
  await db?.drop();
  await dropRoles(extraRoles);
});

describe('changes PostgreSQL fires an event for reset the shadow clock by themselves', () => {
  it('a GRANT on a protected table resets the clock of every project in shadow, in the GRANT\'s transaction, with no CLI', async () => {
    await shadowSince3Days('sm');
    await setPhase(db.pool, 'motoko', 'enforcing');
    const grantee = `${db.appRole}_g`;
    extraRoles.push(grantee);
    await db.pool.query(`CREATE ROLE "${grantee}"`);
    const before = await clockOf('sm');
    const c = await db.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query(`GRANT SELECT ON public.docs TO "${grantee}"`);
      const inside = await clockOf('sm', c);
      expect(inside.getTime()).toBeGreaterThan(before.getTime());
      await c.query('ROLLBACK'); // the reset goes with the change
    } finally {
      c.release();
    }
    expect(await clockOf('sm')).toEqual(before);
    await db.pool.query(`GRANT SELECT ON public.docs TO "${grantee}"`);
    expect((await clockOf('sm')).getTime()).toBeGreaterThan(Date.now() - 60_000);
    const last = (await resets('sm')).at(-1)!;
    expect(last.actor).toBe('postgres (GRANT)');
    expect(last.reason).toContain(`privileges on public.docs for ${grantee}: SELECT (new)`);
    expect(await resets('motoko')).toEqual([]); // enforcing: no clock to reset
  });

  it.each([
    ['REVOKE', (r: string) => `REVOKE SELECT ON public.docs FROM "${r}"`, (r: string) => `privileges on public.docs for ${r}: SELECT -> gone`],
    ['CREATE POLICY', () => `CREATE POLICY extra ON public.docs FOR SELECT USING (true)`, () => 'policy extra on public.docs created'],
    ['ALTER POLICY', () => `ALTER POLICY extra ON public.docs USING (false)`, () => 'policy extra on public.docs changed'],
    ['DROP POLICY', () => `DROP POLICY extra ON public.docs`, () => 'policy extra on public.docs dropped'],
    ['NO FORCE', () => `ALTER TABLE public.docs NO FORCE ROW LEVEL SECURITY`, () => 'rls on public.docs: enabled, forced -> enabled, not forced'],
    ['FORCE', () => `ALTER TABLE public.docs FORCE ROW LEVEL SECURITY`, () => 'rls on public.docs: enabled, not forced -> enabled, forced'],
    ['DISABLE', () => `ALTER TABLE public.docs DISABLE ROW LEVEL SECURITY`, () => 'rls on public.docs: enabled, forced -> disabled, forced'],
    ['ENABLE', () => `ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY`, () => 'rls on public.docs: disabled, forced -> enabled, forced'],
    ['GRANT again', (r: string) => `GRANT SELECT ON public.docs TO "${r}"`, (r: string) => `privileges on public.docs for ${r}: SELECT (new)`],
  ])('%s', async (tag, statement, change) => {
    await shadowSince3Days('ab');
    const n = (await resets('ab')).length;
    await db.pool.query(statement(reader));
    const after = await resets('ab');
    expect(after).toHaveLength(n + 1);
    expect(after.at(-1)!.reason).toContain(change(reader));
    expect(after.at(-1)!.actor).toMatch(/^postgres \(/);
    expect((await clockOf('ab')).getTime()).toBeGreaterThan(Date.now() - 60_000);
    void tag;
  });

  it('dropping a protected table resets the clock; one transaction with many changes resets once', async () => {
    await db.pool.query(`CREATE TABLE public.notes (id int, project_id text)`);
    await db.pool.query(`SELECT shadowgate.protect_table('public.notes')`);
    await shadowSince3Days('aa');
    const n = (await resets('aa')).length;
    await db.pool.query(`BEGIN; GRANT SELECT ON public.notes TO "${reader}"; DROP TABLE public.notes; COMMIT`);
    const after = await resets('aa');
    expect(after).toHaveLength(n + 1);
    expect(after.at(-1)!.reason).toContain(`privileges on public.notes for ${reader}: SELECT (new)`);
    expect(after.at(-1)!.reason).toContain('rls on public.notes: enabled, forced -> gone');
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM shadowgate.protected_tables WHERE table_name = 'public.notes'`)).rows[0].n).toBe(0);
  });

  it('shadowgate\'s own policy DDL is no drift; the same statement from anyone else is', async () => {
    await shadowSince3Days('io');
    const n = (await resets('io')).length;
    await db.pool.query(`CREATE FUNCTION shadowgate.test_rewrite() RETURNS void LANGUAGE plpgsql AS $$
                           BEGIN EXECUTE 'ALTER POLICY shadowgate_delete ON public.docs USING (false)'; END $$`);
    try {
      await db.pool.query('SELECT shadowgate.test_rewrite()');
      expect(await resets('io')).toHaveLength(n);
      await db.pool.query(`ALTER POLICY shadowgate_delete ON public.docs USING (true)`);
      expect(await resets('io')).toHaveLength(n + 1);
      expect((await resets('io')).at(-1)!.reason).toContain('policy shadowgate_delete on public.docs changed');
    } finally {
      await db.pool.query(`SELECT shadowgate.protect('public.docs')`); // shadowgate's own again: its policies back, no reset
      await db.pool.query('DROP FUNCTION shadowgate.test_rewrite()');
    }
    expect(await resets('io')).toHaveLength(n + 1);
  });

  it('a new partition of a protected table is protected without restarting any clock', async () => {
    await db.pool.query(`CREATE TABLE public.log (project_id text, at date) PARTITION BY RANGE (at)`);
    await db.pool.query(`SELECT shadowgate.protect_table('public.log')`);
    await shadowSince3Days('bap');
    const before = await clockOf('bap');
    await db.pool.query(`CREATE TABLE public.log_2026 PARTITION OF public.log FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')`);
    await db.pool.query(`DROP TABLE public.log_2026`);
    expect(await clockOf('bap')).toEqual(before);
  });
});

describe('role changes fire no event', () => {
  it('the pipeline\'s periodic check finds BYPASSRLS and a new member, and resets the clock', async () => {
    await shadowSince3Days('echo');
    const n = (await resets('echo')).length;
    const member = `${db.appRole}_member`;
    extraRoles.push(member);
    await db.pool.query(`CREATE ROLE "${member}" LOGIN`);
    await db.pool.query(`GRANT "${reader}" TO "${member}"`);
    await db.pool.query(`ALTER ROLE "${reader}" BYPASSRLS`);
    expect(await resets('echo')).toHaveLength(n); // nothing fired
    const watch = new DriftWatch({ pool: db.pool, cfg: loadConfig({ DATABASE_URL: db.url }), clock: systemClock }, 100);
    watch.start();
    try {
      await until(async () => (await resets('echo')).length > n);
    } finally {
      await watch.stop();
    }
    const last = (await resets('echo')).at(-1)!;
    expect(last.actor).toBe('periodic drift check (pipeline)');
    expect(last.reason).toContain(`member ${member} of ${reader}: member (new)`);
    expect(last.reason).toContain(`role ${reader}: login -> login bypassrls`);
    await db.pool.query(`ALTER ROLE "${reader}" NOBYPASSRLS`);
    await db.pool.query(`SELECT shadowgate.drift_check('test')`);
  });

  it('migrate compares the catalog before it promotes: a role change since makes the project not eligible', async () => {
    await setPhase(db.pool, 'ea', 'shadow', ago(8));
    await transactions(db.app, 'ea', 3);
    await db.pool.query(`ALTER ROLE "${reader}" BYPASSRLS`);
    try {
      const r = await cli(['migrate', '--project', 'ea', '--phase', 'enforcing'], { DATABASE_URL: db.url, SHADOWGATE_MIN_TRANSACTIONS: '1' });
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain('ea is not eligible for enforcing');
      const last = (await resets('ea')).at(-1)!;
      expect(last.actor).toBe('drift check before migrate by tester');
      expect(last.reason).toContain(`role ${reader}: login -> login bypassrls`);
      expect((await clockOf('ea')).getTime()).toBeGreaterThan(Date.now() - 60_000); // kept although migrate refused
    } finally {
      await db.pool.query(`ALTER ROLE "${reader}" NOBYPASSRLS`);
      await db.pool.query(`SELECT shadowgate.drift_check('test')`);
    }
  });
});

describe('RLS switched off', () => {
  it('is a Slack message to #devops at once', async () => {
    const slack = await slackSink();
    const prefix = `sgtest-drift-${process.pid}-${Date.now()}`;
    const cfg = loadConfig({ DATABASE_URL: db.url, SLACK_WEBHOOK_URL: slack.url, SHADOWGATE_REDIS_PREFIX: prefix });
    const p = await openRuntime(cfg, { poolMax: 4 });
    const workers = await startWorkers(p);
    const producer = new EventProducer(p, 200);
    await producer.start();
    try {
      await db.pool.query(`ALTER TABLE public.docs DISABLE ROW LEVEL SECURITY`);
      await until(() => slack.messages.some((m) => String(m.text).includes('Row level security switched off on protected table public.docs')));
      const m = slack.messages.find((x) => String(x.text).includes('public.docs'))! as { text: string; channel?: string };
      expect(m.channel).toBe('#devops');
      expect(m.text).toContain('by postgres (ALTER TABLE)');
    } finally {
      await db.pool.query(`ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY`);
      await producer.stop();
      await workers.close();
      await closeRuntime(p, { forgetQueues: true });
      await slack.close();
    }
  });
});
