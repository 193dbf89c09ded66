import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { DAY } from '../shared/clock.js';
import { decisionHistory } from '../shared/db/history.js';
import { createTemplateDb, type TemplateDb, type TestDb } from './support/db.js';
import { cli } from './support/cli.js';
import { seedDocsAndGrant, setPhase } from './support/seed.js';
import { eligible, enforcing, falsePositive, statsOf, unreviewedViolations, violating } from './support/rollout.js';
import { transactions } from '../fixtures/traffic.js';

// Every test starts from its own copy of the seeded database and builds the rest of its state
// with the named fixtures of test/support/rollout.ts: it can run alone (-t) or in any order.
let template: TemplateDb;
let db: TestDb;
let env: Record<string, string>;
const NOW = new Date();
const ago = (days: number) => new Date(NOW.getTime() - days * DAY);
const run = (...args: string[]) => cli(args, env);

const phaseOf = async (p: string) => (await statsOf(db.pool, p)).phase;
/** Every row of the phase history, clock resets included (nothing in the product counts them all). */
async function history(): Promise<number> {
  return (await db.pool.query('SELECT count(*)::int AS n FROM shadowgate.rls_phase_history')).rows[0].n;
}

beforeAll(async () => {
  template = await createTemplateDb(import.meta.url, (t) => seedDocsAndGrant(t, 5));
});
afterAll(async () => template?.drop());
beforeEach(async () => {
  db = await template.copy();
  env = { DATABASE_URL: db.url };
});
afterEach(async () => db?.drop());

describe('the seed scenarios', () => {
  it('8 days in shadow, 1200 transactions, 0 violations: ELIGIBLE', async () => {
    await setPhase(db.pool, 'sm', 'shadow', ago(8)); // the tests' clock, in-process: the CLI takes no time for a change
    await transactions(db.app, 'sm', 1200, `SELECT count(*) FROM docs WHERE project_id = 'sm'`);
    const r = await run('report', '--project', 'sm', '--json');
    expect(r.code).toBe(0);
    const rep = JSON.parse(r.stdout);
    expect(rep.projects.sm).toMatchObject({ eligible: true, days_in_shadow: 8, transaction_count: 1200, violation_count: 0, recommendation: 'proceed to enforcing' });
    expect(rep.eligible_count).toBe(1);
    const text = await run('report', '--project', 'sm');
    expect(text.stdout).toContain('ELIGIBLE');
    expect(text.stdout).toContain('Transactions: 1200 ✓');
  });

  it('violations: NOT ELIGIBLE, investigate', async () => {
    await setPhase(db.pool, 'aa', 'shadow', ago(10));
    await transactions(db.app, 'aa', 1100, 'SELECT count(*) FROM docs'); // reads motoko, echo, ... rows
    const rep = JSON.parse((await run('report', '--project', 'aa', '--json')).stdout).projects.aa;
    expect(rep.eligible).toBe(false);
    expect(rep.recommendation).toBe('investigate violations');
    expect(rep.violation_count).toBe(1100 * 5 * 5); // 5 owners aa may not read, 5 rows each, per transaction
    expect(rep.reasons.join('|')).toContain('Violations: 27500 detected');
    const v = await run('violations', '--project', 'aa', '--samples', '2', '--json');
    expect(v.code).toBe(1);
    const out = JSON.parse(v.stdout);
    expect(out.total).toBe(27500);
    expect(out.fingerprints).toHaveLength(5);
    expect(out.samples).toHaveLength(2);
    expect(out.by_table_operation['aa public.docs SELECT']).toBe(27500);
  });

  it('3 days: minimum duration not met, with the date it will be', async () => {
    await setPhase(db.pool, 'motoko', 'shadow', ago(3));
    const rep = JSON.parse((await run('report', '--project', 'motoko', '--json')).stdout).projects.motoko;
    expect(rep.eligible).toBe(false);
    expect(rep.reasons).toContain('Shadow duration: 3 days (minimum: 7)');
    expect(rep.earliest_eligible_at).toBe(new Date(ago(3).getTime() + 7 * DAY).toISOString());
    expect(rep.recommendation).toBe('continue monitoring');
  });

  it('several projects in one report', async () => {
    await eligible(db, 'sm', ago(8));
    await violating(db, 'aa', ago(10), 10);
    await setPhase(db.pool, 'motoko', 'shadow', ago(3));
    const rep = JSON.parse((await run('report', '--json')).stdout);
    expect(Object.keys(rep.projects).sort()).toEqual(['aa', 'motoko', 'sm']);
    expect(rep.total_projects).toBe(3);
    expect(rep.eligible_count).toBe(1);
  });

  it('check-duration: 10 days no alert (exit 0); 15 days alert (exit 1) with a deadline 3 business days on', async () => {
    await eligible(db, 'sm', ago(8));
    await violating(db, 'aa', ago(10), 10);
    await setPhase(db.pool, 'motoko', 'shadow', ago(3));
    const ok = await run('check-duration', '--now', new Date(ago(8).getTime() + 10 * DAY).toISOString());
    // aa is at 12 days then, sm at 10, motoko at 5
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('No projects exceeding maximum shadow duration');
    const at = new Date(ago(8).getTime() + 15 * DAY);
    const bad = await run('check-duration', '--now', at.toISOString(), '--json');
    expect(bad.code).toBe(1);
    const alerts = JSON.parse(bad.stdout).alerts;
    const sm = alerts.find((a: { project_id: string }) => a.project_id === 'sm');
    expect(sm.must_enforce).toBe(true);
    expect(sm.overdue).toBe(false);
    expect(sm.action).toMatch(/^Move to enforcing before \w{3} \d{4}-\d\d-\d\d \d\d:\d\d UTC \(3 business days after /);
    expect(new Date(sm.enforce_deadline).getTime()).toBeGreaterThan(new Date(sm.lingering_since).getTime() + 3 * DAY - 1);
    expect(alerts.find((a: { project_id: string }) => a.project_id === 'aa').must_enforce).toBe(false);
  });
});

describe('review', () => {
  it('a code fix resets the shadow clock; a recurrence is new and unreviewed', async () => {
    const ids = await unreviewedViolations(db, 'aa', 'motoko', ago(10));
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) {
      const r = await run('review', '--fingerprint', String(id), '--resolution', 'code-fix', '--ref', 'https://git.example/pr/1');
      expect(r.code, r.stderr).toBe(0);
    }
    const rep = JSON.parse((await run('report', '--project', 'aa', '--json')).stdout).projects.aa;
    expect(rep).toMatchObject({ days_in_shadow: 0, violation_count: 0, unreviewed_count: 0, transaction_count: 0 });
    const resets = await db.pool.query(`SELECT reason FROM shadowgate.rls_phase_history WHERE project_id = 'aa' AND kind = 'clock_reset'`);
    expect(resets.rows[0].reason).toMatch(/^code-fix for fingerprint \d+/);
    await transactions(db.app, 'aa', 1, `SELECT count(*) FROM docs WHERE project_id = 'echo'`);
    const again = JSON.parse((await run('report', '--project', 'aa', '--json')).stdout).projects.aa;
    expect(again).toMatchObject({ violation_count: 5, unreviewed_count: 1, recommendation: 'investigate violations' });
  });

  it('a false positive needs a rationale, then stays exempt when it recurs', async () => {
    const [id] = await unreviewedViolations(db, 'aa', 'echo', ago(10));
    expect(id).toBeDefined();
    const missing = await run('review', '--fingerprint', String(id), '--resolution', 'false-positive', '--ref', 'https://issues/9');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('rationale');
    expect((await run('review', '--fingerprint', String(id), '--resolution', 'false-positive', '--ref', 'https://issues/9', '--rationale', 'echo is public reference data')).code).toBe(0);
    const before = JSON.parse((await run('report', '--project', 'aa', '--json')).stdout).projects.aa.violation_count;
    await transactions(db.app, 'aa', 1, `SELECT count(*) FROM docs WHERE project_id = 'echo'`); // 5 rows of echo
    const rep = JSON.parse((await run('report', '--project', 'aa', '--json')).stdout).projects.aa;
    expect(rep).toMatchObject({ violation_count: before + 5, unresolved_count: 0, unreviewed_count: 0 });
  });
});

describe('migrate', () => {
  it('promotes an eligible project and refuses one that is not, naming the criteria', async () => {
    await eligible(db, 'sm', ago(8));
    await setPhase(db.pool, 'motoko', 'shadow', ago(3));
    const refused = await run('migrate', '--project', 'motoko', '--phase', 'enforcing');
    expect(refused.code).toBe(1); // refused by the eligibility gate: a finding, not bad input
    expect(refused.stderr).toContain('Shadow duration: 3 days (minimum: 7)');
    expect(await phaseOf('motoko')).toBe('shadow');
    expect((await run('migrate', '--project', 'sm', '--phase', 'enforcing')).code).toBe(0);
    expect(await phaseOf('sm')).toBe('enforcing');
  });

  it('--force needs a reason and is recorded', async () => {
    await setPhase(db.pool, 'motoko', 'shadow', ago(3));
    expect((await run('migrate', '--project', 'motoko', '--phase', 'enforcing', '--force')).code).toBe(2);
    expect(await phaseOf('motoko')).toBe('shadow');
    expect((await run('migrate', '--project', 'motoko', '--phase', 'enforcing', '--force', '--reason', 'CTO approval')).code).toBe(0);
    const last = (await decisionHistory(db.pool)).filter((h) => h.project_id === 'motoko').at(-1);
    expect(last).toMatchObject({ from_phase: 'shadow', to_phase: 'enforcing', forced: true, reason: 'CTO approval', actor: 'tester' });
  });

  it('a batch is all or nothing', async () => {
    await enforcing(db, 'sm', ago(20)); // the batches before ab,aa,bap are done
    await enforcing(db, 'motoko', ago(20));
    const before = await history();
    const r = await run('migrate', '--batch', 'ab,bap,sm', '--phase', 'shadow'); // sm is enforcing: enforcing -> shadow is a rollback, allowed; ab and bap pending -> shadow
    expect(r.code, r.stderr).toBe(0);
    const bad = await run('migrate', '--batch', 'ab,echo', '--phase', 'enforcing');
    expect(bad.code).toBe(1);
    expect(await phaseOf('ab')).toBe('shadow');
    expect(await phaseOf('echo')).toBe('pending');
    expect(await history()).toBe(before + 3);
  });

  it('enforces the rollout order unless forced', async () => {
    for (const p of ['sm', 'motoko', 'ab', 'bap']) await enforcing(db, p, ago(20));
    await setPhase(db.pool, 'aa', 'shadow', ago(10)); // the batch before echo,ea is not done: aa is in shadow
    const r = await run('migrate', '--project', 'echo', '--phase', 'shadow');
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/echo may not enter shadow before aa is enforcing or complete \(rollout order\)/);
    expect(await phaseOf('echo')).toBe('pending');
  });

  it('two operators at the same moment cannot interleave', async () => {
    await setPhase(db.pool, 'bap', 'shadow', ago(2));
    const before = await history();
    const [a, b] = await Promise.all([
      run('migrate', '--project', 'bap', '--phase', 'pending', '--reason', 'rollback'),
      run('migrate', '--project', 'bap', '--phase', 'pending', '--reason', 'rollback'),
    ]);
    expect([a.code, b.code].sort()).toEqual([0, 1]);
    expect((a.code ? a : b).stderr).toContain('illegal transition for bap: pending -> pending');
    expect(await history()).toBe(before + 1);
    expect(await phaseOf('bap')).toBe('pending');
  });

  it('--phase shadow on a project in shadow resets its clock, at the real time', async () => {
    await setPhase(db.pool, 'ab', 'shadow', ago(5));
    const before = Date.now();
    expect((await run('migrate', '--project', 'ab', '--phase', 'shadow', '--reason', 'policy change')).code).toBe(0);
    const s = await statsOf(db.pool, 'ab');
    expect(s.phase).toBe('shadow');
    expect(s.shadowStartedAt!.getTime()).toBeGreaterThanOrEqual(before - 1000);
    expect(s.shadowStartedAt!.getTime()).toBeLessThanOrEqual(Date.now());
  });
});

describe('bad input: one line, exit 2, nothing changed', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['unknown project', ['migrate', '--project', 'nope', '--phase', 'shadow'], /unknown project "nope"/],
    ['unknown phase', ['migrate', '--project', 'io', '--phase', 'live'], /unknown phase "live"/],
    ['malformed batch', ['migrate', '--batch', 'ab,,aa', '--phase', 'shadow'], /malformed batch list/],
    ['unparsable time', ['report', '--now', 'yesterday-ish'], /--now: "yesterday-ish" is not a complete ISO 8601 timestamp/],
    ['a bare number as time', ['check-duration', '--now', '12'], /--now: "12" is not a complete ISO 8601 timestamp/],
    ['zero as time', ['status', '--now', '0'], /--now: "0" is not a complete ISO 8601 timestamp/],
    ['a negative time', ['decisions', '--now', '-1'], /--now: "-1" is not a complete ISO 8601 timestamp/],
    ['a day that does not exist', ['report', '--now', '2026-02-30T00:00:00Z'], /"2026-02-30T00:00:00Z" is not a complete ISO 8601 timestamp/],
    ['a date without a time', ['violations', '--since', '2026-02-01'], /--since: "2026-02-01" is not a complete ISO 8601 timestamp/],
    ['unknown fingerprint', ['review', '--fingerprint', '999999', '--resolution', 'code-fix', '--ref', 'x'], /unknown fingerprint 999999/],
    ['a table that does not exist', ['protect', 'public.nope'], /relation "public.nope" does not exist/],
    ['a role that does not exist', ['grant', 'sg_no_such_role'], /sg_no_such_role/],
  ];
  for (const [name, args, msg] of cases) {
    it(name, async () => {
      const before = await history();
      const r = await run(...args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
      expect(await history()).toBe(before);
    });
  }

  it('an illegal transition is refused by a rule: exit 1, nothing changed', async () => {
    const before = await history();
    const r = await run('migrate', '--project', 'io', '--phase', 'complete');
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/illegal transition for io: pending -> complete/);
    expect(await history()).toBe(before);
  });

  it('unreachable database', async () => {
    const r = await cli(['status'], { DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('cannot reach PostgreSQL at 127.0.0.1:1/none');
  });

  it('ingest-calls: a malformed line or an unknown project adds nothing', async () => {
    const count = async () => (await db.pool.query('SELECT coalesce(sum(calls), 0)::int AS n FROM shadowgate.tool_call_counts')).rows[0].n;
    const at = new Date().toISOString();
    const bad = await cli(['ingest-calls', '-'], env, `{"project":"ab","timestamp":"${at}"}\n{"project":"zz","timestamp":"${at}"}\n`);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown project "zz"');
    expect((await cli(['ingest-calls', '-'], env, 'not json\n')).stderr).toContain('line 1: not JSON');
    expect(await count()).toBe(0);
  });
});

describe('status and decisions', () => {
  it('colors: enforcing in 256-color orange, success lines with ✓, none under NO_COLOR', async () => {
    await enforcing(db, 'sm', ago(20));
    const { NO_COLOR: _, ...noNoColor } = process.env;
    const colored = await new Promise<string>((resolve, reject) =>
      execFile(process.execPath, ['dist/cli/main.js', 'status'], { env: { ...noNoColor, DATABASE_URL: db.url, FORCE_COLOR: '1' } },
        (err, out) => (err ? reject(err) : resolve(out))));
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the terminal's escape sequence is what is tested
    expect(colored).toMatch(/\x1b\[38;5;208menforcing/);
    // NO_COLOR set to anything, even empty, turns colors off
    expect((await cli(['status'], { ...env, NO_COLOR: '', FORCE_COLOR: '1' })).stdout).not.toContain('\x1b[');
    expect((await run('project', 'permit', 'bap', 'ab')).stdout.startsWith('✓ bap may read ab')).toBe(true);
  });

  it('violations --since counts only what was logged since; report --markdown', async () => {
    await violating(db, 'aa', ago(10), 1);
    const all = JSON.parse((await run('violations', '--project', 'aa', '--json')).stdout).total;
    const future = JSON.parse((await run('violations', '--project', 'aa', '--json', '--since', new Date(Date.now() + DAY).toISOString())).stdout);
    expect(all).toBeGreaterThan(0);
    expect(future.total).toBe(0);
    const past = JSON.parse((await run('violations', '--project', 'aa', '--json', '--since', ago(30).toISOString())).stdout);
    expect(past.total).toBe(all);
    const md = await run('report', '--markdown');
    expect(md.stdout).toContain('# Shadow phase report');
    expect(md.stdout).toMatch(/## \w+ \((isolated|shared|super)\): (NOT )?ELIGIBLE/);
  });

  it('status shows every project and its phase; decisions come from the database', async () => {
    await setPhase(db.pool, 'sm', 'shadow', ago(8));
    await enforcing(db, 'motoko', ago(20));
    await falsePositive(db, 'aa', 'echo', ago(10), 'https://issues/9', 'echo is public reference data');
    const s = await run('status');
    expect(s.code).toBe(0);
    expect(s.stdout.trim().split('\n')).toHaveLength(8);
    expect(s.stdout).toMatch(/sm\s+isolated\s+shadow/);
    const d = await run('decisions');
    expect(d.code, d.stderr).toBe(0);
    expect(d.stdout).toContain('## aa (SHARED)');
    expect(d.stdout).toContain('false-positive (https://issues/9): echo is public reference data');
    expect(d.stdout).toContain('**Decision:** ENFORCING');
  });
});
