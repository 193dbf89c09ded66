// Transactions that shadowgate cannot observe (issue 9 item 3): a session without a recorder records
// no would-be denial and counts no transaction; `report`, `status`, the dashboard and a decision's
// evidence say how many there were, per project and shadow window. Through the real application
// role; the recorder is made unreachable in the test's own database (recorder_target).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../shared/config.js';
import { changePhase } from '../shared/db/phase-change.js';
import { decisionHistory } from '../shared/db/history.js';
import { absorbAndReadDashboardState } from '../cli/dashboard/state.js';
import { renderProjects } from '../cli/dashboard/render.js';
import { createMetrics } from '../cli/dashboard/metrics.js';
import { createTemplateDb, type TemplateDb, type TestDb } from './support/db.js';
import { cli } from './support/cli.js';
import { freePort } from './support/faults.js';
import { seedDocsAndGrant, setPhase } from './support/seed.js';
import { statsOf } from './support/rollout.js';
import { absorbAudit } from '../shared/db/intake.js';
import { until } from './support/sinks.js';
import { transactions } from '../fixtures/traffic.js';

let template: TemplateDb;
let db: TestDb;
let env: Record<string, string>;
const run = (...args: string[]) => cli(args, env);

beforeAll(async () => {
  template = await createTemplateDb(import.meta.url, (t) => seedDocsAndGrant(t, 5));
});
afterAll(async () => template?.drop());
beforeEach(async () => {
  db = await template.copy();
  env = { DATABASE_URL: db.url };
  await setPhase(db.pool, 'sm', 'shadow');
});
afterEach(async () => db?.drop());

/** Recorders of this database connect to a port nobody listens on (127.0.0.1 refuses at once). */
async function recorderUnreachable(): Promise<void> {
  await db.pool.query(`UPDATE shadowgate.recorder_target SET conninfo = $1`, [`host=127.0.0.1 port=${await freePort()} dbname=none user=none connect_timeout=2`]);
}
const recorderReachable = () => db.pool.query(`UPDATE shadowgate.recorder_target SET conninfo = NULL`);

/** Runs each list of statements as one transaction of one application session, then ends the session. */
async function onOneSession(...txns: string[][]): Promise<string[]> {
  const c = await db.app.connect();
  const warnings: string[] = [];
  c.on('notice', (n) => warnings.push(n.message ?? ''));
  try {
    for (const statements of txns) {
      for (const q of statements) await c.query(q);
    }
  } finally {
    c.release(true);
  }
  return warnings;
}

const READ_OTHERS = `SELECT count(*) FROM docs`; // sm may read only its own rows: would-be denials of 7 owners

describe('a session without a recorder', () => {
  it('counts every transaction declared for a project in shadow as unobserved, not as a transaction: report (json, text, markdown) and status say so', async () => {
    await recorderUnreachable();
    const rw = ['BEGIN', `SELECT shadowgate.set_project_context('sm')`, READ_OTHERS, `SELECT shadowgate.set_project_context('sm')`, 'COMMIT'];
    const rolledBack = ['BEGIN', `SELECT shadowgate.set_project_context('sm')`, READ_OTHERS, 'ROLLBACK'];
    const warnings = await onOneSession(rw, rw, rw, rolledBack, ['SELECT shadowgate.flush_recorder()']);
    expect(warnings).toContain('shadowgate: cannot open the recorder connection (could not establish connection): nothing is recorded');

    const rep = JSON.parse((await run('report', '--project', 'sm', '--json')).stdout).projects.sm;
    expect(rep).toMatchObject({ unobserved_count: 4, transaction_count: 0, violation_count: 0 });
    const text = (await run('report', '--project', 'sm')).stdout;
    expect(text).toContain('Transactions: 0 (minimum: 1000)');
    expect(text).toContain('Unobserved: 4 transactions in sessions without a recorder (not counted in Transactions; their would-be denials were not recorded)');
    expect((await run('report', '--markdown')).stdout).toContain('- Unobserved: 4 transactions in sessions without a recorder');
    const status = JSON.parse((await run('status', '--json')).stdout).projects;
    expect(status.find((p: { project_id: string }) => p.project_id === 'sm')).toMatchObject({ unobserved: 4 });
    expect(status.find((p: { project_id: string }) => p.project_id === 'aa')).toMatchObject({ unobserved: 0 });
    expect((await run('status')).stdout).toMatch(/^sm .* 4 unobserved transactions \(no recorder\)$/m);
  });

  it('counts a read of a project\'s rows without a context (its would-be denial lost) for that project, once per transaction', async () => {
    await recorderUnreachable();
    const noContext = ['BEGIN', `SELECT count(*) FROM docs WHERE project_id = 'sm'`, `SELECT count(*) FROM docs WHERE project_id = 'sm'`, 'COMMIT'];
    await onOneSession(noContext, noContext);
    expect(await statsOf(db.pool, 'sm')).toMatchObject({ unobserved: 2, transactions: 0 });
  });

  it('keeps a READ ONLY transaction\'s count in the session (nextval() is refused there) and counts it once the session opens its recorder', async () => {
    await recorderUnreachable();
    const c = await db.app.connect();
    try {
      for (let i = 0; i < 3; i++) {
        await c.query('BEGIN READ ONLY');
        await c.query(`SELECT shadowgate.set_project_context('sm')`);
        await c.query(READ_OTHERS);
        await c.query('COMMIT');
      }
      expect(await statsOf(db.pool, 'sm')).toMatchObject({ unobserved: 0, transactions: 0 });
      await recorderReachable();
      await c.query('BEGIN');
      await c.query(`SELECT shadowgate.set_project_context('sm')`); // opens the recorder: the 3 go with it
      await c.query('COMMIT');
      await c.query('SELECT shadowgate.flush_recorder()');
    } finally {
      c.release(true);
    }
    expect(await statsOf(db.pool, 'sm')).toMatchObject({ unobserved: 3, transactions: 1 });
  });

  it('starts over with the shadow clock (a recorded change), and a decision keeps the count it saw', async () => {
    await recorderUnreachable();
    const rw = ['BEGIN', `SELECT shadowgate.set_project_context('sm')`, 'COMMIT'];
    await onOneSession(rw, rw);
    expect((await statsOf(db.pool, 'sm')).unobserved).toBe(2);
    expect((await run('record-change', '--project', 'sm', '--kind', 'code', '--ref', 'https://example.com/pr/1')).code).toBe(0);
    expect((await statsOf(db.pool, 'sm')).unobserved).toBe(0);
    await onOneSession(rw);
    await changePhase(db.pool, loadConfig({ DATABASE_URL: db.url }), {
      projectIds: ['sm'], phase: 'enforcing', at: new Date(), actor: 'tester', force: true, reason: 'test: evidence',
    });
    const decision = (await decisionHistory(db.pool)).find((h) => h.project_id === 'sm' && h.to_phase === 'enforcing');
    expect(decision?.evidence).toMatchObject({ unobserved: 1, transactions: 0 });
    expect((await run('decisions')).stdout).toContain('- Unobserved: 1 transaction in sessions without a recorder');
  });

  it('shows the count on the dashboard and in /metrics\' state', async () => {
    await recorderUnreachable();
    await onOneSession(['BEGIN', `SELECT shadowgate.set_project_context('sm')`, 'COMMIT']);
    const state = await absorbAndReadDashboardState(db.pool, loadConfig({ DATABASE_URL: db.url }), new Date());
    expect(state.projects.find((p) => p.project_id === 'sm')).toMatchObject({ unobserved: 1, transactions: 0 });
    expect(renderProjects(state)).toContain('1 unobserved (no recorder)');
    const metrics = await createMetrics(db.pool).render(state);
    expect(metrics).toContain('shadowgate_unobserved_transactions{project="sm"} 1');
    expect(metrics).toContain('shadowgate_unobserved_transactions{project="aa"} 0');
  });

  it('keeps the count across a crash of PostgreSQL up to the last carry, like the transaction count', async () => {
    await recorderUnreachable();
    const seq = (await db.pool.query(`SELECT seq_no FROM shadowgate.project_registry WHERE project_id = 'sm'`)).rows[0].seq_no;
    const rw = ['BEGIN', `SELECT shadowgate.set_project_context('sm')`, 'COMMIT'];
    await onOneSession(rw, rw);
    await db.pool.query(`SELECT shadowgate.carry_txn_counts('0 s')`);
    await onOneSession(rw);
    expect((await statsOf(db.pool, 'sm')).unobserved).toBe(3);
    // what a crash does to unlogged relations: the sequence starts over, the marker row is gone
    await db.pool.query('TRUNCATE shadowgate.txn_counter_alive');
    await db.pool.query(`ALTER SEQUENCE shadowgate.unobserved_${Number(seq)} RESTART`);
    expect((await statsOf(db.pool, 'sm')).unobserved).toBe(2); // the one since the last carry is lost
    await onOneSession(rw);
    await db.pool.query(`SELECT shadowgate.carry_txn_counts('0 s')`);
    expect((await statsOf(db.pool, 'sm')).unobserved).toBe(3);
  });
});

describe('a session whose recorder connection breaks', () => {
  it('counts what the failed send carried as unobserved, opens another recorder and records and counts what follows', async () => {
    const rw = ['BEGIN', `SELECT shadowgate.set_project_context('sm')`, READ_OTHERS, 'COMMIT'];
    const recorders = async () => (await db.pool.query(
      `SELECT pid FROM pg_stat_activity WHERE application_name = 'shadowgate recorder' AND datname = current_database()`)).rows.map((r) => r.pid);
    const c = await db.app.connect();
    const warnings: string[] = [];
    let perTransaction = 0;
    c.on('notice', (n) => warnings.push(n.message ?? ''));
    try {
      for (const q of [...rw, 'SELECT shadowgate.flush_recorder()']) await c.query(q);
      await absorbAudit(db.pool);
      perTransaction = (await statsOf(db.pool, 'sm')).violations; // the rows one transaction reads of the 7 owners
      const [first] = await recorders();
      await db.pool.query('SELECT pg_terminate_backend($1)', [first]); // an administrator, idle_session_timeout
      await until(async () => !(await recorders()).includes(first));
      for (let i = 0; i < 4; i++) for (const q of rw) await c.query(q);
      await c.query('SELECT shadowgate.flush_recorder()');
      expect((await recorders()).filter((p) => p !== first)).toHaveLength(1);
    } finally {
      c.release(true);
    }
    expect(warnings.filter((w) => w.startsWith('shadowgate: could not send to the recorder'))).toHaveLength(1);
    // the first transaction after the break went in the failed send: unobserved; the 3 after it counted
    await absorbAudit(db.pool);
    const s = await statsOf(db.pool, 'sm');
    expect(s).toMatchObject({ transactions: 1 + 3, unobserved: 1 });
    // the findings of the 3 transactions after the failed send recorded in full (exact counts: they
    // commit), with what the failed one's later statements sent to the new recorder, if anything
    expect(perTransaction).toBeGreaterThan(7);
    expect(s.violations).toBeGreaterThanOrEqual(4 * perTransaction);
    expect(s.violations).toBeLessThanOrEqual(5 * perTransaction);
  });
});

describe('a session with a recorder', () => {
  it('reports 0 unobserved, every transaction counted', async () => {
    await transactions(db.app, 'sm', 5, READ_OTHERS);
    const rep = JSON.parse((await run('report', '--project', 'sm', '--json')).stdout).projects.sm;
    expect(rep).toMatchObject({ unobserved_count: 0, transaction_count: 5 });
    expect((await run('report', '--project', 'sm')).stdout).toContain('Unobserved: 0 transactions');
  });
});
