// Poison never blocks the intake: a row owned by NULL and one owned by the string '<null>' are two
// owners; a forged, unreadable key goes to the quarantine while the real findings of its
// transaction are absorbed; a forged huge count is clamped; a transaction whose rows raise an error
// nobody foresaw is quarantined whole; and every other tenant's transaction is absorbed in the same
// call. The rows come from the application role through the real policies.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { absorbAudit, quarantineSummary } from '../shared/db/intake.js';
import { asApp, createTestDb, type TestDb } from './support/db.js';
import { seedProjects, setPhase } from './support/seed.js';
import { protectTable } from '../shared/db/protection.js';
import { cli } from './support/cli.js';
import { loadConfig } from '../shared/config.js';
import { absorbAndReadDashboardState } from '../cli/dashboard/state.js';
import { createMetrics } from '../cli/dashboard/metrics.js';

let db: TestDb & { grantApp(): Promise<void> };
let tableId: number;
const CLAMP = 2147483647;

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  await seedProjects(db.pool);
  // a table whose owner column admits NULL, with rows of NULL, of the string '<null>' and of projects
  await db.pool.query(`CREATE TABLE public.notes (id bigserial PRIMARY KEY, project_id text, body text)`);
  await db.pool.query(`INSERT INTO public.notes (project_id, body)
                       SELECT o, 'note' FROM unnest(ARRAY[NULL, '<null>', 'NULL', 'aa', 'ab', 'sm', 'motoko']) o, generate_series(1, 3)`);
  await protectTable(db.pool, 'public.notes');
  tableId = (await db.pool.query<{ id: number }>(`SELECT id FROM shadowgate.protected_tables WHERE table_name = 'public.notes'`)).rows[0]!.id;
  await db.grantApp();
  for (const p of ['sm', 'motoko', 'aa']) await setPhase(db.pool, p, 'shadow');
});
afterAll(async () => db?.drop());

beforeEach(async () => {
  await db.pool.query('TRUNCATE shadowgate.rls_audit_log, shadowgate.audit_quarantine, shadowgate.violation_daily');
  await db.pool.query('DELETE FROM shadowgate.violation_fingerprints');
});

/** A transaction of motoko reading aa's notes: another tenant's real finding, absorbed beside the poison. */
const otherTenant = () => asApp(db.app, 'motoko', (c) => c.query(`SELECT count(*) FROM notes WHERE project_id = 'aa'`));

const fingerprints = async () => (await db.pool.query<{ project_id: string; row_project_id: string | null; occurrences: string }>(
  `SELECT project_id, row_project_id, occurrences FROM shadowgate.violation_fingerprints ORDER BY project_id, row_project_id NULLS FIRST`)).rows
  .map((f) => [f.project_id, f.row_project_id, Number(f.occurrences)]);
const quarantined = async () => (await db.pool.query<{
  txid: string; error: string; inbox_row: { keys: string[]; counts: number[]; context_project_id: string };
}>(`SELECT txid, error, inbox_row FROM shadowgate.audit_quarantine ORDER BY id`)).rows;
/**
 * A poisoned piece of the last transaction of `project` in the inbox, written as the admin: the
 * application cannot write one (the recorder writes only keys memo_key() builds), a bug or a
 * hand-made row can.
 */
const poison = (project: string, keys: string[], counts: number[]) => db.pool.query(
  `INSERT INTO shadowgate.audit_inbox (txid, app_txid, context_project_id, user_name, session_id, keys, counts,
                                       app_pid, app_backend_start, xact_start, recorder_pid)
   SELECT txid, app_txid, context_project_id, user_name, session_id, $2, $3, app_pid, app_backend_start, xact_start, recorder_pid
     FROM shadowgate.audit_inbox WHERE context_project_id = $1 ORDER BY logged_at DESC LIMIT 1`, [project, keys, counts]);
const inbox = async () => (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM shadowgate.audit_inbox')).rows[0]!.n;

describe('the intake', () => {
  it('absorbs rows owned by NULL and by the string "<null>" in one transaction as two fingerprints', async () => {
    await asApp(db.app, 'sm', (c) => c.query(`SELECT count(*) FROM notes WHERE project_id IS NULL OR project_id IN ('<null>', 'NULL')`));
    await otherTenant();
    // before: "ON CONFLICT DO UPDATE command cannot affect row a second time", for every tenant, on every call
    expect(await absorbAudit(db.pool)).toBe(4);
    expect(await fingerprints()).toEqual([
      ['motoko', 'aa', 3],
      ['sm', null, 3], ['sm', '<null>', 3], ['sm', 'NULL', 3],
    ]);
    expect(await inbox()).toBe(0);
    expect(await quarantined()).toEqual([]);
  });

  it('quarantines a forged unreadable key and absorbs the real findings of the same transaction', async () => {
    await asApp(db.app, 'sm', (c) => c.query(`SELECT count(*) FROM notes WHERE project_id IN ('aa', 'ab')`));
    await poison('sm', ['shadowgate.n1rx_xff'], [4]); // an owner that is not UTF-8, in sm's transaction
    await otherTenant();
    expect(await absorbAudit(db.pool)).toBe(3);
    expect(await fingerprints()).toEqual([['motoko', 'aa', 3], ['sm', 'aa', 3], ['sm', 'ab', 3]]);
    const q = await quarantined();
    expect(q).toHaveLength(1);
    expect(q[0]!.error).toMatch(/^unreadable key/);
    expect(q[0]!.inbox_row).toMatchObject({ keys: ['shadowgate.n1rx_xff'], counts: [4], context_project_id: 'sm' });
    expect(await inbox()).toBe(0);
    const summary = await quarantineSummary(db.pool);
    expect(summary).toMatchObject({ rows: 1 });
    expect(summary.newest_error).toMatch(/^unreadable key/);
  });

  it('asks whether a transaction has ended once per transaction, not once per inbox row', async () => {
    await asApp(db.app, 'sm', (c) => c.query(`SELECT count(*) FROM notes WHERE project_id = 'aa'`));
    // 50 more pieces of sm's transaction (as a long transaction sending many pieces leaves them)
    await db.pool.query(`INSERT INTO shadowgate.audit_inbox SELECT i.* FROM shadowgate.audit_inbox i, generate_series(1, 50)
                          WHERE i.context_project_id = 'sm'`);
    await otherTenant();
    expect(await inbox()).toBeGreaterThanOrEqual(52);
    const c = await db.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query(`SET LOCAL track_functions = 'all'`);
      await c.query('SELECT shadowgate.absorb_audit()');
      const calls = await c.query<{ calls: number }>(
        `SELECT calls::int FROM pg_stat_xact_user_functions WHERE schemaname = 'shadowgate' AND funcname = 'transaction_ended'`);
      await c.query('COMMIT');
      expect(calls.rows).toEqual([{ calls: 2 }]); // before: one look at every session's activity per inbox row (over 52)
    } finally {
      c.release();
    }
    expect(await inbox()).toBe(0);
    expect(await fingerprints()).toEqual([['motoko', 'aa', 3], ['sm', 'aa', 153]]);
  });

  it(`clamps a forged count to ${CLAMP} per transaction and key, so that no counter overflows`, async () => {
    for (let i = 0; i < 2; i++) {
      await asApp(db.app, 'sm', (c) => c.query(`SELECT count(*) FROM notes WHERE project_id = 'aa'`));
      const key = (await db.pool.query(`SELECT shadowgate.memo_key($1, 'r', 'x', 'aa') AS k`, [tableId])).rows[0].k;
      await poison('sm', [key], ['9223372036854775807' as unknown as number]);
    }
    await otherTenant();
    // before: "bigint out of range" on every call, for every tenant
    expect(await absorbAudit(db.pool)).toBe(2);
    expect(await fingerprints()).toEqual([['motoko', 'aa', 3], ['sm', 'aa', 2 * CLAMP]]);
    const rows = (await db.pool.query<{ row_count: string }>(
      `SELECT row_count FROM shadowgate.rls_audit_log WHERE project_id = 'sm' ORDER BY id`)).rows.map((r) => Number(r.row_count));
    expect(rows).toEqual([CLAMP, CLAMP]);
    expect(await quarantined()).toEqual([]);
  });

  it('quarantines whole a transaction whose rows raise an error nobody foresaw, and absorbs every other one', async () => {
    // an error the intake cannot foresee, simulated by a constraint on the audit log
    await db.pool.query(`ALTER TABLE shadowgate.rls_audit_log ADD CONSTRAINT test_poison CHECK (row_project_id IS DISTINCT FROM 'motoko')`);
    try {
      await asApp(db.app, 'sm', (c) => c.query(`SELECT count(*) FROM notes WHERE project_id IN ('motoko', 'ab')`));
      await otherTenant();
      await asApp(db.app, 'aa', (c) => c.query(`SELECT count(*) FROM notes WHERE project_id = 'motoko'`));
      expect(await absorbAudit(db.pool)).toBe(1);
      expect(await fingerprints()).toEqual([['motoko', 'aa', 3]]);
      const q = await quarantined();
      expect(new Set(q.map((r) => r.error))).toEqual(new Set([expect.stringContaining('test_poison')]));
      // the inbox rows of both poisoned transactions as they were, sm's real finding of ab with them;
      // nothing of motoko's transaction
      expect(new Set(q.map((r) => r.inbox_row.context_project_id))).toEqual(new Set(['sm', 'aa']));
      expect(new Set(q.map((r) => r.txid)).size).toBe(2);
      const owners = new Set(q.flatMap((r) => r.inbox_row.keys).map((k) => Buffer.from(k.split('_x')[1]!, 'hex').toString()));
      expect(owners).toEqual(new Set(['motoko', 'ab']));
      expect(await inbox()).toBe(0);
    } finally {
      await db.pool.query('ALTER TABLE shadowgate.rls_audit_log DROP CONSTRAINT test_poison');
    }
  });

  it('absorbs the violations when the coverage inbox cannot be folded, and folds it once it can', async () => {
    const coverage = async () => (await db.pool.query<{ inbox: number; folded: number }>(
      `SELECT (SELECT count(*)::int FROM shadowgate.coverage_inbox) AS inbox,
              (SELECT count(*)::int FROM shadowgate.coverage WHERE project_id = 'sm') AS folded`)).rows[0]!;
    await absorbAudit(db.pool);
    await db.pool.query(`DELETE FROM shadowgate.coverage`);
    // an error nobody foresaw in the coverage fold, simulated by a constraint
    await db.pool.query(`ALTER TABLE shadowgate.coverage ADD CONSTRAINT test_poison CHECK (operation <> 'SELECT')`);
    try {
      await asApp(db.app, 'sm', (c) => c.query(`SELECT count(*) FROM notes WHERE project_id = 'aa'`));
      expect(await absorbAudit(db.pool)).toBe(1);
      expect(await fingerprints()).toEqual([['sm', 'aa', 3]]);
      expect(await coverage()).toEqual({ inbox: 1, folded: 0 });
    } finally {
      await db.pool.query('ALTER TABLE shadowgate.coverage DROP CONSTRAINT test_poison');
    }
    expect(await absorbAudit(db.pool)).toBe(0);
    expect(await coverage()).toEqual({ inbox: 0, folded: 1 });
  });

  it('shows the quarantine on the dashboard and in /metrics', async () => {
    const show = async () => {
      const state = await absorbAndReadDashboardState(db.pool, loadConfig({ DATABASE_URL: db.url }), new Date());
      return { warning: state.quarantine_warning, metrics: await createMetrics(db.pool).render(state) };
    };
    expect(await show()).toMatchObject({ warning: null, metrics: expect.stringContaining('\nshadowgate_audit_quarantined 0\n') });
    await asApp(db.app, 'sm', (c) => c.query(`SELECT count(*) FROM notes WHERE project_id = 'aa'`));
    await poison('sm', ['shadowgate.n1rx_xff'], [1]);
    await asApp(db.app, 'sm', (c) => c.query(`SELECT count(*) FROM notes WHERE project_id = 'ab'`));
    await poison('sm', ['shadowgate.n1rx_x00'], [1]);
    const shown = await show(); // the dashboard absorbs first
    expect(shown.warning).toMatch(/^Quarantine: 2 audit inbox rows could not be absorbed \(newest .*: unreadable key/);
    expect(shown.metrics).toContain('\nshadowgate_audit_quarantined 2\n');
  });

  it('shows the quarantine in status (text and --json)', async () => {
    await asApp(db.app, 'sm', (c) => c.query(`SELECT count(*) FROM notes WHERE project_id = 'ab'`));
    await poison('sm', ['shadowgate.n1rx_x00'], [1]); // a NUL byte: no text holds it
    await absorbAudit(db.pool);
    const text = await cli(['status'], { DATABASE_URL: db.url });
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/Quarantine: 1 audit inbox row could not be absorbed \(newest .*: unreadable key/);
    const json = await cli(['status', '--json'], { DATABASE_URL: db.url });
    const status = JSON.parse(json.stdout) as { projects: Array<{ project_id: string }>; quarantine: { rows: number; newest_error: string } };
    expect(status.projects.map((p) => p.project_id)).toContain('sm');
    expect(status.quarantine).toMatchObject({ rows: 1, newest_error: expect.stringMatching(/^unreadable key/) });
    await db.pool.query('TRUNCATE shadowgate.audit_quarantine');
    expect((await cli(['status'], { DATABASE_URL: db.url })).stdout).not.toContain('Quarantine');
  });
});
