import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { asApp, createTestDb, type TestDb } from './support/db.js';
import { seedProjects, setPhase } from './support/seed.js';

// A table that already isolates rows per user (Supabase style) keeps doing so once protected, in
// every phase; shadow notes only rows the table's own policy lets through.
let db: TestDb & { grantApp(): Promise<void> };
const PROJECTS = ['sm', 'motoko', 'ab', 'aa', 'bap', 'echo', 'ea', 'io'];

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  await seedProjects(db.pool);
  // every project has 4 rows of alice and 6 of bob
  await db.pool.query(`CREATE TABLE public.notes (id bigserial PRIMARY KEY, project_id text NOT NULL, owner_name text NOT NULL, body text)`);
  await db.pool.query(
    `INSERT INTO public.notes (project_id, owner_name, body)
     SELECT p, CASE WHEN i <= 4 THEN 'alice' ELSE 'bob' END, 'n' || i FROM unnest($1::text[]) p, generate_series(1, 10) i`,
    [PROJECTS],
  );
  await db.pool.query(`ALTER TABLE public.notes ENABLE ROW LEVEL SECURITY`);
  await db.pool.query(`CREATE POLICY own_rows ON public.notes USING (owner_name = current_setting('app.user', true))`);
  await db.pool.query(`SELECT shadowgate.protect('public.notes')`);
  await db.grantApp();
});
afterAll(async () => db?.drop());

beforeEach(async () => {
  await db.pool.query('SELECT shadowgate.absorb_audit()');
  await db.pool.query('TRUNCATE shadowgate.rls_audit_log');
});

async function allPhases(phase: string) {
  for (const p of PROJECTS) await setPhase(db.pool, p, phase);
}

/** As the application: project sm declared, user alice (the table's own policy reads app.user). */
function asAlice<T>(fn: (c: pg.PoolClient) => Promise<T>, project = 'sm'): Promise<T> {
  return asApp(db.app, project, async (c) => {
    await c.query(`SELECT set_config('app.user', 'alice', true)`);
    return fn(c);
  });
}
const count = (c: pg.PoolClient) => c.query('SELECT count(*)::int AS n FROM notes').then((r) => r.rows[0].n);

async function audit() {
  await db.pool.query('SELECT shadowgate.absorb_audit()');
  const { rows } = await db.pool.query(
    `SELECT operation, row_project_id, row_count::int AS n FROM shadowgate.rls_audit_log ORDER BY operation, row_project_id`);
  return rows;
}

describe('a table with policies of its own', () => {
  it('shows no row its own policy hides, in any phase', async () => {
    for (const [phase, expected] of [['pending', 32], ['shadow', 32], ['enforcing', 4], ['complete', 4]] as const) {
      await allPhases(phase);
      expect(await asAlice(count), phase).toBe(expected);
      // bob's rows stay hidden from alice even where shadowgate lets everything through
      expect(await asAlice((c) => c.query(`SELECT count(*)::int AS n FROM notes WHERE owner_name = 'bob'`).then((r) => r.rows[0].n)), phase).toBe(0);
    }
  });

  it('in shadow notes only the accesses its own policy lets through', async () => {
    await allPhases('shadow');
    expect(await asAlice(count)).toBe(32);
    const rows = await audit();
    expect(rows).toHaveLength(7);
    expect(rows.every((r) => r.operation === 'SELECT' && r.n === 4)).toBe(true);
  });

  it('in shadow notes writes only to rows its own policy lets the application change', async () => {
    await allPhases('shadow');
    const u = await asAlice((c) => c.query(`UPDATE notes SET body = body WHERE project_id = 'aa'`));
    expect(u.rowCount).toBe(4);
    // its own policy's check refuses a row for bob, whatever the phase
    await expect(asAlice((c) => c.query(`INSERT INTO notes (project_id, owner_name) VALUES ('aa', 'bob')`))).rejects.toMatchObject({ code: '42501' });
    const rows = await audit();
    // alice's 4 rows of aa, none of bob's 6: one finding per row changed (not the SELECT policy
    // PostgreSQL also applies to the UPDATE, nor the new row)
    expect(rows.map((r) => [r.operation, r.row_project_id, r.n])).toEqual([['UPDATE', 'aa', 4]]);
  });

  it('keeps its own write checks in enforcing, on top of the tenant rule', async () => {
    await allPhases('enforcing');
    await expect(asAlice((c) => c.query(`INSERT INTO notes (project_id, owner_name) VALUES ('sm', 'bob')`))).rejects.toMatchObject({ code: '42501' });
    await expect(asAlice((c) => c.query(`INSERT INTO notes (project_id, owner_name) VALUES ('aa', 'alice')`))).rejects.toMatchObject({ code: '42501' });
    const ok = await asAlice((c) => c.query(`INSERT INTO notes (project_id, owner_name, body) VALUES ('sm', 'alice', 'mine') RETURNING id`));
    expect(ok.rowCount).toBe(1);
    await db.pool.query(`DELETE FROM notes WHERE body = 'mine'`);
  });

  it('is composed again when its own policies change (regenerate_policies)', async () => {
    await allPhases('enforcing');
    await db.pool.query(`CREATE TABLE public.later (id bigserial PRIMARY KEY, project_id text NOT NULL, owner_name text NOT NULL)`);
    await db.pool.query(`INSERT INTO public.later (project_id, owner_name) SELECT p, n FROM unnest($1::text[]) p, unnest('{alice,bob}'::text[]) n`, [PROJECTS]);
    await db.pool.query(`SELECT shadowgate.protect('public.later')`);
    await db.grantApp();
    const seen = () => asAlice((c) => c.query('SELECT count(*)::int AS n FROM later').then((r) => r.rows[0].n));
    expect(await seen()).toBe(2);
    await db.pool.query(`CREATE POLICY own_rows ON public.later USING (owner_name = current_setting('app.user', true))`);
    await db.pool.query(`SELECT shadowgate.regenerate_policies('public.later')`);
    expect(await seen()).toBe(1);
  });
});

describe('protect refuses, changing nothing', () => {
  const state = async (t: string) => (await db.pool.query(
    `SELECT c.relrowsecurity, c.relforcerowsecurity,
            (SELECT array_agg(polname ORDER BY polname) FROM pg_policy WHERE polrelid = c.oid) AS policies,
            EXISTS (SELECT 1 FROM shadowgate.protected_tables WHERE table_oid = c.oid) AS protected
       FROM pg_class c WHERE c.oid = $1::regclass`, [t])).rows[0];

  it('a table whose own policy applies to some roles only', async () => {
    await db.pool.query(`CREATE TABLE public.rolewise (id int, project_id text)`);
    await db.pool.query(`ALTER TABLE public.rolewise ENABLE ROW LEVEL SECURITY`);
    await db.pool.query(`CREATE POLICY for_app ON public.rolewise TO "${db.appRole}" USING (id > 0)`);
    const before = await state('public.rolewise');
    await expect(db.pool.query(`SELECT shadowgate.protect('public.rolewise')`)).rejects.toThrow(
      /^policy for_app on public.rolewise applies to some roles only; shadowgate can compose only with policies for every role$/);
    expect(await state('public.rolewise')).toEqual(before);
  });

  it('a table with row level security on and no policy (it shows nothing)', async () => {
    await db.pool.query(`CREATE TABLE public.closed (id int, project_id text)`);
    await db.pool.query(`ALTER TABLE public.closed ENABLE ROW LEVEL SECURITY`);
    const before = await state('public.closed');
    await expect(db.pool.query(`SELECT shadowgate.protect('public.closed')`)).rejects.toThrow(/row level security enabled and no policies/);
    expect(await state('public.closed')).toEqual(before);
  });
});
