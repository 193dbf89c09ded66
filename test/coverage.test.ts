import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DAY } from '../shared/clock.js';
import { addProject } from '../shared/db/projects.js';
import { protectTable } from '../shared/db/protection.js';
import { absorbAudit } from '../shared/db/intake.js';
import { loadCoverage, setRequiredCoverage } from '../shared/db/coverage.js';
import { systemClock } from '../shared/clock.js';
import { loadConfig } from '../shared/config.js';
import { startDashboard } from '../cli/dashboard/server.js';
import { resetShadowClock } from '../shared/db/phases.js';
import { asApp, createTestDb, type TestDb } from './support/db.js';
import { cli } from './support/cli.js';
import { setPhase } from './support/seed.js';
import { statsOf } from './support/rollout.js';
import { until } from './support/sinks.js';

// Coverage through a real application role running real statements under the generated policies:
// what a project in shadow exercised, per protected table and operation, in its shadow window.
let db: TestDb & { grantApp(): Promise<void> };
let env: Record<string, string>;
const run = (...args: string[]) => cli(args, env);
const ago = (days: number) => new Date(Date.now() - days * DAY);

/** Named fixture: projects in every phase, two protected tables with rows of each, granted. */
async function projectsAndTables(): Promise<void> {
  for (const p of ['sa', 'sb', 'en', 'pe']) await addProject(db.pool, { projectId: p, accessLevel: 'isolated' });
  for (const t of ['notes', 'files', 'logs']) {
    await db.pool.query(`CREATE TABLE public.${t} (id serial PRIMARY KEY, project_id text NOT NULL, v int NOT NULL DEFAULT 0)`);
    await db.pool.query(`INSERT INTO public.${t} (project_id) SELECT p FROM unnest('{sa,sb,en,pe}'::text[]) p, generate_series(1, 3)`);
    await protectTable(db.pool, `public.${t}`);
  }
  await db.grantApp();
  // the role may read logs but not delete from it: a forged DELETE there must not count
  await db.pool.query(`REVOKE DELETE ON public.logs FROM "${db.appRole}"`);
  await setPhase(db.pool, 'en', 'shadow');
  await setPhase(db.pool, 'en', 'enforcing');
}

/** The coverage of one project as `table OPERATION` -> transactions, after absorbing the inbox. */
async function exercised(project: string): Promise<Record<string, number>> {
  await absorbAudit(db.pool);
  const c = (await loadCoverage(db.pool, [project])).get(project)!;
  return Object.fromEntries(c.observed.map((o) => [`${o.table} ${o.operation}`, o.transactions]));
}

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  env = { DATABASE_URL: db.url, SHADOWGATE_MIN_TRANSACTIONS: '0' };
  await projectsAndTables();
});
afterAll(async () => db?.drop());

describe('coverage', () => {
  it("counts a shadow tenant's SELECT and UPDATE per transaction, lists the tables it never touched; enforcing and pending tenants add nothing", async () => {
    await setPhase(db.pool, 'sa', 'shadow', ago(8));
    await asApp(db.app, 'sa', async (c) => {
      await c.query(`SELECT count(*) FROM notes WHERE project_id = 'sa'`);
      await c.query(`SELECT * FROM notes WHERE project_id = 'sa' AND id > 1`); // same transaction: counted once
      await c.query(`UPDATE notes SET v = v + 1 WHERE project_id = 'sa'`);
    });
    await asApp(db.app, 'sa', (c) => c.query(`SELECT * FROM notes WHERE project_id = 'sa'`));
    // other phases: the same statements observe nothing, for them or for sa
    for (const p of ['en', 'pe']) {
      await asApp(db.app, p, async (c) => {
        await c.query('SELECT count(*) FROM files');
        await c.query(`UPDATE notes SET v = v + 1 WHERE project_id = '${p}'`);
        await c.query(`DELETE FROM files WHERE project_id = '${p}' AND v < 0`);
      });
    }
    // a read-only transaction is observed (through the recorder, no write of its own); a rolled-back
    // one is not, as it is not counted
    for (const [begin, table, end] of [['BEGIN READ ONLY', 'files', 'COMMIT'], ['BEGIN', 'logs', 'ROLLBACK']]) {
      const c = await db.app.connect();
      try {
        await c.query(begin!);
        await c.query(`SELECT shadowgate.set_project_context('sa')`);
        await c.query(`SELECT count(*) FROM ${table} WHERE project_id = 'sa'`);
        await c.query(end!);
        await c.query('SELECT shadowgate.flush_recorder()');
      } finally {
        c.release();
      }
    }
    expect(await exercised('sa')).toEqual({ 'public.notes SELECT': 2, 'public.notes UPDATE': 1, 'public.files SELECT': 1 });
    expect(await exercised('en')).toEqual({});
    expect(await exercised('pe')).toEqual({});
    const rep = JSON.parse((await run('report', '--project', 'sa', '--json')).stdout).projects.sa.coverage;
    expect(rep.never_touched).toEqual(['public.logs']);
    expect(rep.tables.find((t: { table: string }) => t.table === 'public.notes').operations)
      .toMatchObject({ SELECT: { transactions: 2 }, INSERT: { transactions: 0 }, UPDATE: { transactions: 1 }, DELETE: { transactions: 0 } });
    expect(rep.required).toEqual([]);
  });

  it('a forged observation counts only for the project the role declared, on a table and operation it may use, once per transaction', async () => {
    await setPhase(db.pool, 'sb', 'shadow', ago(8));
    const tid = async (t: string) => (await db.pool.query(`SELECT id FROM shadowgate.protected_tables WHERE table_name = $1`, [t])).rows[0].id;
    const [files, logs] = [await tid('public.files'), await tid('public.logs')];
    await asApp(db.app, 'sb', async (c) => {
      for (let i = 0; i < 3; i++) await c.query('SELECT shadowgate.observe($1, $2)', [files, 'd']);
      // sent and absorbed, memo reset, declared again, observed again: the same transaction still
      // counts once (the recorder remembers the transaction starts it took)
      await c.query('SELECT shadowgate.flush_recorder()');
      await absorbAudit(db.pool);
      await c.query('RESET ALL');
      await c.query(`SELECT set_config('shadowgate.project_id', 'sb', true)`); // not declared: observes nothing
      await c.query('SELECT shadowgate.observe($1, $2)', [files, 'i']);
      await c.query(`SELECT shadowgate.set_project_context('sb')`);
      await c.query('SELECT shadowgate.observe($1, $2)', [files, 'd']);
      await c.query('SELECT shadowgate.observe($1, $2)', [logs, 'd']); // no DELETE privilege on logs
      await c.query('SELECT shadowgate.observe($1, $2)', [9999, 'r']); // no such table
      await c.query(`SELECT shadowgate.observe($1, 'x''; RESET ALL; --')`, [files]); // no such operation
    });
    await asApp(db.app, 'en', (c) => c.query('SELECT shadowgate.observe($1, $2)', [files, 'u'])); // not in shadow
    expect(await exercised('sb')).toEqual({ 'public.files DELETE': 1 });
    expect(await exercised('en')).toEqual({});
    expect(await exercised('sa')).not.toHaveProperty('public.files DELETE');
  });

  it('a transaction that rolls back is neither counted nor observed, and a ROLLBACK that restores sent observations does not count them twice', async () => {
    await addProject(db.pool, { projectId: 'sr', accessLevel: 'isolated' });
    await setPhase(db.pool, 'sr', 'shadow', ago(8));
    const notes = (await db.pool.query(`SELECT id FROM shadowgate.protected_tables WHERE table_name = 'public.notes'`)).rows[0].id;
    expect(notes).toBeLessThan(10);
    // each committed transaction adds 'sr@<16 digits>,' (20 bytes) and its observation
    // 'sr@<16 digits>/<notes>r,' (23) to the session's list; a declaration sends the list once it is
    // over 2 kB: 1 + 43 x 48 = 2,065 bytes, at the 49th transaction's declaration
    const committed = 48;
    const c = await db.app.connect();
    try {
      for (let i = 0; i < committed; i++) {
        await c.query('BEGIN');
        await c.query(`SELECT shadowgate.set_project_context('sr')`);
        await c.query(`SELECT count(*) FROM notes WHERE project_id = 'sr'`);
        await c.query('COMMIT');
      }
      // the 49th declares (and sends the list), reads, then rolls back: the ROLLBACK restores the
      // list as it was, already sent
      await c.query('BEGIN');
      await c.query(`SELECT shadowgate.set_project_context('sr')`);
      await c.query(`SELECT count(*) FROM files WHERE project_id = 'sr'`);
      await c.query('ROLLBACK');
      await until(async () => (await statsOf(db.pool, 'sr')).transactions > 0);
      await absorbAudit(db.pool); // what the first send carried, absorbed before it comes again
      await c.query('SELECT shadowgate.flush_recorder()');
      expect(await exercised('sr')).toEqual({ 'public.notes SELECT': committed });
      expect((await statsOf(db.pool, 'sr')).transactions).toBe(committed);
    } finally {
      c.release(true);
    }
  });

  it('a clock reset empties the window; transactions committed before it stay out even when absorbed after it', async () => {
    await setPhase(db.pool, 'sb', 'shadow', ago(8));
    await asApp(db.app, 'sb', (c) => c.query('SELECT count(*) FROM files'));
    await absorbAudit(db.pool);
    await asApp(db.app, 'sb', (c) => c.query(`UPDATE files SET v = 1 WHERE project_id = 'sb'`)); // not absorbed yet
    expect(await resetShadowClock(db.pool, 'sb', new Date(), 'tester', 'code change')).toBe(true);
    expect(await exercised('sb')).toEqual({});
    await asApp(db.app, 'sb', (c) => c.query('INSERT INTO files (project_id) VALUES ($1)', ['sb']));
    expect(await exercised('sb')).toEqual({ 'public.files INSERT': 1 });
  });

  it('required coverage is an exit criterion: the gate refuses (exit 1) naming what is missing, report and status show it, and passes once exercised', async () => {
    await addProject(db.pool, { projectId: 'se', accessLevel: 'isolated' });
    await setPhase(db.pool, 'se', 'shadow', ago(8));
    await asApp(db.app, 'se', (c) => c.query(`SELECT count(*) FROM notes WHERE project_id = 'se'`));
    const set = await run('project', 'set', 'se', '--require-coverage', 'select,public.files:update');
    expect(set.code).toBe(0);
    expect(set.stdout).toContain('se must exercise in shadow before enforcing: SELECT on every protected table, UPDATE on public.files');
    expect((await run('project', 'list')).stdout).toMatch(/^se .* requires coverage: SELECT on every protected table, UPDATE on public\.files$/m);
    const refused = await run('migrate', '--project', 'se', '--phase', 'enforcing');
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('Coverage: not exercised in this shadow window: SELECT on public.files, UPDATE on public.files, SELECT on public.logs');
    const text = (await run('report', '--project', 'se')).stdout;
    expect(text).toContain('NOT ELIGIBLE');
    expect(text).toMatch(/public\.notes: SELECT 1, INSERT –, UPDATE –, DELETE –/);
    expect(text).toContain('public.files: never touched');
    expect(text).toContain('missing: SELECT on public.files, UPDATE on public.files, SELECT on public.logs');
    const md = (await run('report', '--project', 'se', '--markdown')).stdout;
    expect(md).toContain('| table | SELECT | INSERT | UPDATE | DELETE |');
    expect(md).toContain('| public.notes | 1 | – | – | – |');
    expect(md).toContain('| public.files (never touched) | MISSING | – | MISSING | – |');
    expect(md).toContain('- Never touched: public.files, public.logs');
    const json = JSON.parse((await run('report', '--project', 'se', '--json')).stdout).projects.se;
    expect(json.coverage.required).toEqual([{ table: null, operation: 'SELECT' }, { table: 'public.files', operation: 'UPDATE' }]);
    expect(json.criteria.at(-1)).toMatchObject({ name: 'coverage', met: false });
    const status = await run('status');
    expect(status.stdout).toMatch(/se .* coverage missing: SELECT on public\.files, UPDATE on public\.files, SELECT on public\.logs/);
    expect(status.stdout).not.toMatch(/sb .*coverage missing/);

    await asApp(db.app, 'se', async (c) => {
      await c.query(`UPDATE files SET v = 2 WHERE project_id = 'se'`); // its WHERE reads files: SELECT too
      await c.query(`SELECT count(*) FROM logs WHERE project_id = 'se'`);
    });
    const passed = await run('migrate', '--project', 'se', '--phase', 'enforcing');
    expect(passed.stderr).toBe('');
    expect(passed.code).toBe(0);
    const ev = (await db.pool.query(`SELECT evidence FROM shadowgate.rls_phase_history WHERE project_id = 'se' AND to_phase = 'enforcing'`)).rows[0].evidence;
    expect(ev.criteria.at(-1)).toMatchObject({ name: 'coverage', met: true });
    expect(ev.coverage.tables.find((t: { table: string }) => t.table === 'public.files').operations.UPDATE.transactions).toBe(1);
    // the decision keeps what the window had exercised; later traffic does not change it
    await asApp(db.app, 'sb', (c) => c.query(`SELECT count(*) FROM notes WHERE project_id = 'sb'`));
    const decisions = (await run('decisions')).stdout;
    const decision = decisions.slice(decisions.indexOf('## se '), decisions.indexOf('\n## ', decisions.indexOf('## se ')));
    expect(decision).toContain('**Coverage at the decision: transactions per table and operation in this shadow window');
    expect(decision).toContain('- public.files: SELECT 1, INSERT –, UPDATE 1, DELETE –');
    expect(decision).toContain('- Required: SELECT on every protected table, UPDATE on public.files; all exercised ✓');
  });

  it('refuses a malformed list or a table that is not protected, in one line, exit 2, changing nothing', async () => {
    const bad: Array<[string, string]> = [['truncate', 'bad coverage item "truncate"'], ['public.nope:select', 'table "public.nope" is not protected']];
    for (const [spec, message] of bad) {
      const r = await run('project', 'set', 'sb', '--require-coverage', spec);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(message);
    }
    expect((await run('project', 'set', 'nobody', '--require-coverage', 'select')).code).toBe(2);
    expect((await loadCoverage(db.pool, ['sb'])).get('sb')!.required).toEqual([]);
    expect((await run('project', 'set', 'sb', '--require-coverage', 'none')).stdout).toContain('sb: coverage shown, not required');
  });

  it('the dashboard shows it in the page it serves (no script needed) and in /metrics', async () => {
    await addProject(db.pool, { projectId: 'sd', accessLevel: 'isolated' });
    await setPhase(db.pool, 'sd', 'shadow', ago(8));
    await asApp(db.app, 'sd', (c) => c.query(`SELECT count(*) FROM notes WHERE project_id = 'sd'`));
    await setRequiredCoverage(db.pool, 'sd', [{ table: 'public.files', operation: 'UPDATE' }]);
    const dash = await startDashboard({ pool: db.pool, cfg: loadConfig({ DATABASE_URL: db.url }), clock: systemClock, host: '127.0.0.1', port: 0, refreshSeconds: 60 });
    try {
      const html = await (await fetch(dash.url)).text();
      const row = (table: string) => html.match(new RegExp(`<tr data-coverage="sd:${table}">([\\s\\S]*?)</tr>`))?.[1] ?? '';
      const cells = (table: string) => [...row(table).matchAll(/<td class="[^"]*">([^<]*)<\/td>/g)].map((m) => m[1]);
      expect(cells('public.notes')).toEqual(['1', '–', '–', '–']);
      expect(row('public.files')).toContain('never touched');
      expect(cells('public.files')).toEqual(['–', '–', 'MISSING', '–']);
      expect(html).toMatch(/<tr data-project="sd">[\s\S]*?coverage missing: UPDATE on public\.files/);
      expect(html).not.toContain('data-coverage="en:'); // enforcing: nothing shown
      expect(await (await fetch(`${dash.url}metrics`)).text()).toContain('shadowgate_coverage_missing{project="sd"} 1');
    } finally {
      await dash.close();
    }
  });
});
