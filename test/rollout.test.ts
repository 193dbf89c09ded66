import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { addProject, permit, revoke } from '../shared/db/projects.js';
import { absorbAndLoadStats } from '../shared/db/stats.js';
import { ingestCalls, parseCallLog } from '../shared/db/tool-calls.js';
import { fingerprints, parseFingerprintIds, review } from '../shared/db/violations.js';
import { changePhase } from '../shared/db/phase-change.js';
import { createTestDb, type TestDb } from './support/db.js';
import { cli } from './support/cli.js';
import { createDocs, setPhase } from './support/seed.js';
import { clockResets, statsOf } from './support/rollout.js';
import { transactions } from '../fixtures/traffic.js';

// Item by item, the shortcuts of issue 11 refused: no supplied time moves state, ingested calls are
// bounded and counted once, resets happen with their cause, decisions keep their evidence, bulk
// review, the legacy owner's minimum, exit codes.
let db: TestDb & { grantApp(): Promise<void> };
let env: Record<string, string>;
const cfg = () => loadConfig({ DATABASE_URL: db.url });
const run = (...args: string[]) => cli(args, env);
const ago = (days: number) => new Date(Date.now() - days * DAY);

const phaseOf = async (p: string) => (await statsOf(db.pool, p)).phase;
const clockOf = async (p: string) => (await statsOf(db.pool, p)).shadowStartedAt!;
const resets = async (p: string) => (await clockResets(db.pool, p)).map((r) => r.reason);
/** A project in shadow for `days`, clean, with `n` counted transactions. */
async function eligibleProject(id: string, days = 8, n = 1000, extra: Partial<Parameters<typeof addProject>[1]> = {}): Promise<void> {
  await addProject(db.pool, { projectId: id, accessLevel: 'isolated', leadEmail: `${id}@example.com`, ...extra });
  await setPhase(db.pool, id, 'shadow', ago(days));
  if (n) await transactions(db.app, id, n);
}

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  env = { DATABASE_URL: db.url };
  await addProject(db.pool, { projectId: 'other', accessLevel: 'isolated' });
  await createDocs(db.pool, 2);
  await db.grantApp();
});
afterAll(async () => db?.drop());

describe('1. time: no supplied time moves state', () => {
  it('migrate, review and record-change take no --now; the 9-days-ahead promotion of the issue is refused', async () => {
    await eligibleProject('t1', 0, 0);
    const future = new Date(Date.now() + 9 * DAY).toISOString();
    for (const args of [
      ['migrate', '--project', 't1', '--phase', 'enforcing', '--now', future],
      ['review', '--fingerprint', '1', '--resolution', 'code-fix', '--ref', 'x', '--now', ago(30).toISOString()],
      ['record-change', '--project', 't1', '--kind', 'code', '--ref', 'x', '--now', ago(30).toISOString()],
    ]) {
      const r = await run(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toContain("unknown option '--now'");
    }
    expect(await phaseOf('t1')).toBe('shadow');
    expect(await resets('t1')).toEqual([]);
    // without --now: evaluated at the real time, 0 days in shadow: refused by the gate (exit 1)
    const r = await run('migrate', '--project', 't1', '--phase', 'enforcing');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('t1 is not eligible for enforcing: Shadow duration: 0 days (minimum: 7)');
    expect(await phaseOf('t1')).toBe('shadow');
  });

  it('read-only commands evaluate at --now and change nothing', async () => {
    const before = (await db.pool.query('SELECT count(*)::int AS n FROM shadowgate.rls_phase_history')).rows[0].n;
    const later = new Date(Date.now() + 8 * DAY).toISOString();
    const rep = JSON.parse((await run('report', '--project', 't1', '--json', '--now', later)).stdout).projects.t1;
    expect(rep.days_in_shadow).toBe(8);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM shadowgate.rls_phase_history')).rows[0].n).toBe(before);
    expect(await phaseOf('t1')).toBe('shadow');
  });
});

describe('2. tool calls', () => {
  const line = (project: string, at: Date | string, count?: number) =>
    JSON.stringify({ project, timestamp: typeof at === 'string' ? at : at.toISOString(), ...(count === undefined ? {} : { count }) });

  it('a project counting in the database refuses tool calls (exit 1): the same activity is never counted twice', async () => {
    const r = await cli(['ingest-calls', '-'], env, `${line('t1', new Date())}\n`);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('t1 counts transactions in the database');
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM shadowgate.tool_call_lines`)).rows[0].n).toBe(0);
  });

  it('future calls, calls before the project existed, unbounded counts: one line, exit 2, nothing added', async () => {
    await addProject(db.pool, { projectId: 'calls', accessLevel: 'isolated', transactionsFrom: 'tool-calls' });
    const created = (await db.pool.query(`SELECT created_at FROM shadowgate.project_registry WHERE project_id = 'calls'`)).rows[0].created_at as Date;
    const ok = line('calls', new Date());
    for (const [bad, msg] of [
      [line('calls', '2099-01-01T00:00:00Z'), /line 2: 2099-01-01T00:00:00.000Z is in the future/],
      [line('calls', new Date(created.getTime() - 1000)), /line 2: .* is before calls was registered/],
      [line('calls', new Date(), 2 ** 53), /line 2: "count" must be a whole number from 0 to 10000/],
      [line('calls', new Date(), -1), /line 2: "count" must be a whole number from 0 to 10000/],
      [line('calls', '12'), /line 2: "timestamp": "12" is not a complete ISO 8601 timestamp/],
    ] as const) {
      const r = await cli(['ingest-calls', '-'], env, `${ok}\n${bad}\n`);
      expect(r.code, bad).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
    expect((await db.pool.query(`SELECT count(*)::int AS n FROM shadowgate.tool_call_lines`)).rows[0].n).toBe(0);
  });

  it('ingesting the same log twice counts once; a longer log adds only its new lines; only tool calls count', async () => {
    await setPhase(db.pool, 'calls', 'shadow', ago(0.01));
    await transactions(db.app, 'calls', 5); // counted by the database, but this project counts tool calls
    const created = (await db.pool.query(`SELECT created_at FROM shadowgate.project_registry WHERE project_id = 'calls'`)).rows[0].created_at as Date;
    const at = (ms: number) => new Date(created.getTime() + ms);
    const log = [line('calls', at(1), 600), line('calls', at(2)), line('calls', at(2))].join('\n');
    const first = await cli(['ingest-calls', '-'], env, log);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain('calls: 602 tool calls added from 3 line(s)');
    const again = await cli(['ingest-calls', '-'], env, log);
    expect(again.stdout).toContain('calls: 0 tool calls added from 0 line(s); 3 line(s) ingested before, not counted again');
    // the rotated log holds the old lines and one more identical line: only that one is new
    const more = await ingestCalls(db.pool, parseCallLog(`${log}\n${line('calls', at(2))}`), new Date());
    expect(more).toEqual([{ projectId: 'calls', lines: 1, calls: 1, duplicates: 3 }]);
    const [s] = await absorbAndLoadStats(db.pool, ['calls']);
    expect(s?.transactions).toBe(603);
  });
});

describe('3. resets at once, in the transaction that records the cause', () => {
  it('record-change with no pipeline running: the clock restarts at once and migrate refuses right after', async () => {
    await eligibleProject('t3', 8, 1000);
    const [before] = await absorbAndLoadStats(db.pool, ['t3']);
    expect(before?.transactions).toBe(1000);
    const r = await run('record-change', '--project', 't3', '--kind', 'code', '--ref', 'https://git/pr/3');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain("t3's shadow clock restarts");
    expect(await resets('t3')).toEqual([expect.stringMatching(/^code change https:\/\/git\/pr\/3 \(change \d+\)$/)]);
    const m = await run('migrate', '--project', 't3', '--phase', 'enforcing');
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/Shadow duration: 0 days .*Transactions: 0 \(minimum: 1000\)/);
    expect(await phaseOf('t3')).toBe('shadow');
  });

  it('project permit and revoke reset the reader\'s clock in their own transaction', async () => {
    await addProject(db.pool, { projectId: 'reader', accessLevel: 'shared' });
    await setPhase(db.pool, 'reader', 'shadow', ago(5));
    expect((await run('project', 'permit', 'reader', 'other')).code).toBe(0);
    expect(Date.now() - (await clockOf('reader')).getTime()).toBeLessThan(60_000);
    // in-process with a clock of one's own: the same function, the same transaction
    const at = new Date(Date.now() + 1000);
    expect(await revoke(db.pool, 'reader', 'other', { actor: 'tester', at })).toBe(true);
    expect((await clockOf('reader')).toISOString()).toBe(at.toISOString());
    expect(await resets('reader')).toEqual([
      expect.stringMatching(/^acl change read permission granted: reader -> other \(change \d+\)$/),
      expect.stringMatching(/^acl change read permission revoked: reader -> other \(change \d+\)$/),
    ]);
    // nothing to change: no reset
    expect(await revoke(db.pool, 'reader', 'other', { actor: 'tester', at })).toBe(false);
    expect(await permit(db.pool, 'reader', 'other', { actor: 'tester', at: new Date(0) })).toBe(true);
    // a reset never moves the clock back
    expect((await clockOf('reader')).toISOString()).toBe(at.toISOString());
    expect(await resets('reader')).toHaveLength(3);
  });

  it('a change recorded while a promotion is being decided waits for it: never promoted past', async () => {
    await eligibleProject('race', 8, 1000);
    const c = cfg();
    const results = await Promise.allSettled([
      changePhase(db.pool, c, { projectIds: ['race'], phase: 'enforcing', at: new Date(), actor: 'tester' }),
      db.pool.query(`SELECT * FROM shadowgate.record_change('race', 'code', 'https://git/pr/race', 'ci', now())`),
    ]);
    const promoted = results[0].status === 'fulfilled';
    const h = (await db.pool.query(`SELECT kind, at FROM shadowgate.rls_phase_history WHERE project_id = 'race' ORDER BY id`)).rows.map((r) => r.kind);
    // either the promotion went first (the change then finds it enforcing: no reset) or the reset did (promotion refused)
    expect(h).toEqual(promoted ? ['phase', 'phase'] : ['phase', 'clock_reset']);
    expect(await phaseOf('race')).toBe(promoted ? 'enforcing' : 'shadow');
  });
});

describe('5. decisions keep their evidence', () => {
  it('a promotion stores the criteria it saw; decisions renders them after the project moved on', async () => {
    await eligibleProject('t5', 9, 1100);
    await db.pool.query(`SELECT shadowgate.reset_shadow_clock('t5', now() - interval '8 days', 'tester', 'policy change')`);
    await transactions(db.app, 't5', 1000);
    const ok = await run('migrate', '--project', 't5', '--phase', 'enforcing', '--reason', 'all green');
    expect(ok.code, ok.stderr).toBe(0);
    const forced = await run('migrate', '--project', 't1', '--phase', 'enforcing', '--force', '--reason', 'CTO approval');
    expect(forced.code, forced.stderr).toBe(0);
    // time goes on, the counters move: the record does not
    await transactions(db.app, 't5', 50);
    const md = (await run('decisions', '--now', new Date(Date.now() + 40 * DAY).toISOString())).stdout;
    const section = (id: string) => md.split('\n## ').find((x) => x.startsWith(`${id} `))!;
    const t5 = section('t5');
    expect(t5).toMatch(/### \S+: shadow -> enforcing\n/);
    expect(t5).toContain('**Approved By:** tester');
    expect(t5).toContain('**Reason:** all green');
    expect(t5).toContain('- Shadow Duration: 8 days (minimum: 7)');
    expect(t5).toContain('- Transaction Count: 1000 (minimum: 1000)');
    expect(t5).toContain('- Violations: 0 ✓');
    expect(t5).toContain('by tester: policy change');
    expect(t5).not.toContain('Shadow Started:** -');
    const t1 = section('t1');
    expect(t1).toMatch(/### \S+: shadow -> enforcing \(FORCED\)/);
    expect(t1).toContain('**Reason:** CTO approval');
    expect(t1).toContain('**Metrics at the decision** (NOT ELIGIBLE):\n- Shadow Duration: 0 days (minimum: 7)\n- Transaction Count: 0 (minimum: 1000)');
    const h = (await db.pool.query(`SELECT forced, actor, reason, evidence FROM shadowgate.rls_phase_history WHERE project_id = 't1' AND to_phase = 'enforcing'`)).rows[0];
    expect(h).toMatchObject({ forced: true, actor: 'tester', reason: 'CTO approval', evidence: { eligible: false, transactions: 0 } });
  });

  it('a decision cannot be rewritten', async () => {
    await expect(db.pool.query(`UPDATE shadowgate.rls_phase_history SET forced = false WHERE project_id = 't1'`)).rejects.toThrow(/append-only/);
    await expect(db.pool.query(`DELETE FROM shadowgate.rls_phase_history WHERE project_id = 't1'`)).rejects.toThrow(/append-only/);
  });
});

describe('6. legacy owner', () => {
  it('--legacy-owner alone means 14 days in shadow', async () => {
    expect((await run('project', 'add', 'legacy', '--access', 'super', '--legacy-owner')).code).toBe(0);
    await setPhase(db.pool, 'legacy', 'shadow', ago(10));
    await transactions(db.app, 'legacy', 1000);
    const r = await run('migrate', '--project', 'legacy', '--phase', 'enforcing');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('Shadow duration: 10 days (minimum: 14)');
    const at14 = JSON.parse((await run('report', '--project', 'legacy', '--json', '--now', new Date(Date.now() + 4 * DAY).toISOString())).stdout).projects.legacy;
    expect(at14).toMatchObject({ eligible: true, min_shadow_days: 14, legacy_owner: true });
  });
});

describe('8. bulk review', () => {
  it('one root cause, many fingerprints: one command, one clock reset; a selection picks the unreviewed ones', async () => {
    await addProject(db.pool, { projectId: 'bulk', accessLevel: 'isolated' });
    await setPhase(db.pool, 'bulk', 'shadow', ago(3));
    for (const owner of ['o1', 'o2', 'o3', 'o4', 'o5']) await transactions(db.app, 'bulk', 1, `INSERT INTO docs (project_id, body) VALUES ('${owner}', 'x')`);
    await absorbAndLoadStats(db.pool, ['bulk']);
    const ids = (await fingerprints(db.pool, 'bulk')).map((f) => f.id!).sort((a, b) => a - b);
    expect(ids).toHaveLength(5);
    const r = await run('review', '--fingerprint', `${ids[0]},${ids[1]}`, '--fingerprint', String(ids[2]), '--resolution', 'code-fix', '--ref', 'https://git/pr/8');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`fingerprints ${ids[0]}, ${ids[1]}, ${ids[2]} (bulk) reviewed: code-fix`);
    expect(await resets('bulk')).toEqual([`code-fix for fingerprints ${ids[0]}, ${ids[1]}, ${ids[2]} (https://git/pr/8)`]);
    const sel = await run('review', '--project', 'bulk', '--operation', 'insert', '--resolution', 'false-positive', '--ref', 'https://issues/8', '--rationale', 'fixtures');
    expect(sel.code, sel.stderr).toBe(0);
    expect(sel.stdout).toContain(`fingerprints ${ids[3]}, ${ids[4]} (bulk) reviewed: false-positive`);
    expect(await resets('bulk')).toHaveLength(1);
    const none = await run('review', '--project', 'bulk', '--resolution', 'code-fix', '--ref', 'x');
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no unreviewed fingerprint matches project bulk');
  });

  it('a malformed or unknown id list is an error and changes nothing', async () => {
    for (const bad of [['1,,2'], ['1,x'], ['3', '3'], ['-1'], ['1.5']]) {
      expect(() => parseFingerprintIds(bad)).toThrow(/malformed fingerprint list/);
    }
    const r = await run('review', '--fingerprint', '1,two', '--resolution', 'code-fix', '--ref', 'x');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('malformed fingerprint list "1,two"');
    const reviews = async () => (await db.pool.query('SELECT count(*)::int AS n FROM shadowgate.reviews')).rows[0].n;
    const before = await reviews();
    // a fingerprint of its own beside the unknown ids: left unreviewed
    await addProject(db.pool, { projectId: 'ids', accessLevel: 'isolated' });
    await setPhase(db.pool, 'ids', 'shadow', ago(3));
    await transactions(db.app, 'ids', 1, `INSERT INTO docs (project_id, body) VALUES ('o9', 'x')`);
    await absorbAndLoadStats(db.pool, ['ids']);
    const [known] = await fingerprints(db.pool, 'ids');
    expect(known?.open_since).not.toBeNull();
    await expect(review(db.pool, { fingerprintIds: [known!.id!, 999998, 999999], resolution: 'code-fix', ref: 'x', actor: 't', at: new Date() }))
      .rejects.toThrow('unknown fingerprint 999998, 999999');
    expect(await reviews()).toBe(before);
    expect((await fingerprints(db.pool, 'ids'))[0]?.open_since).toEqual(known!.open_since);
  });
});
