import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type pg from 'pg';
import { asApp, createTestDb, type TestDb } from './support/db.js';
import { setPhase } from './support/seed.js';
import { addProject } from '../shared/db/projects.js';

// The planner must treat a protected table in enforcing and complete exactly as it treats the same
// table under a hand-written tenant policy, and in pending as a table without RLS: same indexes,
// same parallel plans, generic plans included. Three tables with the same rows and statistics
// (under 30,000 rows ANALYZE reads every row): docs (shadowgate), anchor (hand-written), plain.
let db: TestDb & { grantApp(): Promise<void> };
const TENANTS = ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7'];

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  for (const t of TENANTS) await addProject(db.pool, { projectId: t, accessLevel: 'isolated', legacyOwner: false });
  await db.pool.query(`CREATE TABLE public.docs (id bigint PRIMARY KEY, project_id varchar(50) NOT NULL, v int NOT NULL)`);
  await db.pool.query(`INSERT INTO public.docs SELECT i, 't' || ((i / 50) % 8), i % 100 FROM generate_series(1, 24000) i`);
  await db.pool.query(`CREATE INDEX ON public.docs (project_id, id)`);
  for (const t of ['anchor', 'plain']) {
    await db.pool.query(`CREATE TABLE public.${t} (LIKE public.docs INCLUDING ALL)`);
    await db.pool.query(`INSERT INTO public.${t} SELECT * FROM public.docs`);
  }
  await db.pool.query(`ALTER TABLE public.anchor ENABLE ROW LEVEL SECURITY`);
  await db.pool.query(`CREATE POLICY tenant ON public.anchor USING (project_id = current_setting('app.project_id', true))`);
  await db.pool.query(`SELECT shadowgate.protect('public.docs')`);
  await db.grantApp();
  await db.pool.query(`GRANT SELECT, UPDATE, DELETE ON public.anchor, public.plain TO "${db.appRole}"`);
  await db.pool.query('ANALYZE public.docs, public.anchor, public.plain');
});
afterAll(async () => db?.drop());

async function allPhases(phase: string) {
  for (const t of TENANTS) await setPhase(db.pool, t, phase);
}

const STATEMENTS = [
  `SELECT sum(v) FROM TBL WHERE project_id = 't3' AND id BETWEEN 4000 AND 7199`,
  `SELECT sum(v) FROM TBL WHERE id BETWEEN 4000 AND 7199`,
  `SELECT count(*) FROM TBL`,
  `SELECT * FROM TBL WHERE id = 4003`,
  `UPDATE TBL SET v = v + 1 WHERE id = 4003`,
  `DELETE FROM TBL WHERE v = 1000`,
];

/** EXPLAIN of each statement on a table, as the application role with context t3; plans without
 * costs, the table's name and the setting's name made alike so that only the plans differ. */
async function plans(table: string, opts: { parallel?: boolean; generic?: boolean } = {}): Promise<string[]> {
  return asApp(db.app, 't3', async (c: pg.PoolClient) => {
    await c.query(`SELECT set_config('app.project_id', 't3', true)`);
    if (opts.parallel) {
      // make parallel plans worth it on a small table, as they are on a large one
      for (const s of ['min_parallel_table_scan_size = 0', 'min_parallel_index_scan_size = 0', 'parallel_setup_cost = 0', 'parallel_tuple_cost = 0']) {
        await c.query(`SET LOCAL ${s}`);
      }
    }
    const out: string[] = [];
    for (const [i, s] of STATEMENTS.entries()) {
      const sql = s.replace('TBL', table);
      let text: string;
      if (opts.generic) {
        await c.query(`SET LOCAL plan_cache_mode = force_generic_plan`);
        await c.query(`PREPARE p${i}(bigint) AS ${sql.replace('4000', '$1')}`);
        text = (await c.query(`EXPLAIN (COSTS OFF) EXECUTE p${i}(4000)`)).rows.map((r) => r['QUERY PLAN']).join('\n');
        await c.query(`DEALLOCATE p${i}`);
      } else {
        text = (await c.query(`EXPLAIN (COSTS OFF) ${sql}`)).rows.map((r) => r['QUERY PLAN']).join('\n');
      }
      out.push(text.replaceAll(table, 'TBL').replaceAll('app.project_id', 'shadowgate.project_id'));
    }
    return out;
  });
}

describe('plans', () => {
  for (const phase of ['enforcing', 'complete']) {
    it(`in ${phase} are the hand-written tenant policy's: same indexes, parallel and generic plans`, async () => {
      await allPhases(phase);
      expect(await plans('docs')).toEqual(await plans('anchor'));
      expect(await plans('docs', { parallel: true })).toEqual(await plans('anchor', { parallel: true }));
      expect(await plans('docs', { generic: true })).toEqual(await plans('anchor', { generic: true }));
      // what that means: the tenant index filters a query that relies on RLS alone, in parallel
      const [, , countAll] = await plans('docs', { parallel: true });
      expect(countAll).toMatch(/Gather/);
      expect(countAll).toMatch(/Index Cond: \(\(project_id\)::text = current_setting\('shadowgate.project_id'::text, true\)\)/);
    });
  }

  it('in pending are those of a table without RLS', async () => {
    await allPhases('pending');
    expect(await plans('docs')).toEqual(await plans('plain'));
    expect(await plans('docs', { parallel: true })).toEqual(await plans('plain', { parallel: true }));
  });

  it('stay correct when a generic plan is reused across tenants after a phase change', async () => {
    await allPhases('enforcing');
    const c = await db.app.connect();
    try {
      await c.query('SET plan_cache_mode = force_generic_plan');
      const q = { name: 'count-docs-plans', text: 'SELECT count(*)::int AS n FROM docs WHERE id <= $1' };
      const run = async (p: string) => {
        await c.query('BEGIN');
        await c.query('SELECT shadowgate.set_project_context($1)', [p]);
        const r = await c.query({ ...q, values: [24000] });
        await c.query('COMMIT');
        return r.rows[0].n;
      };
      expect(await run('t3')).toBe(3000);
      await setPhase(db.pool, 't3', 'shadow'); // the policy changes under the prepared statement
      expect(await run('t3')).toBe(24000);
      expect(await run('t4')).toBe(3000);
      await setPhase(db.pool, 't3', 'enforcing');
      expect(await run('t3')).toBe(3000);
    } finally {
      c.release();
    }
  });
});

describe('columns of other types', () => {
  it('compare in the column\'s type: a uuid or integer tenant index applies, any spelling of a uuid matches', async () => {
    const u = 'c0ffee00-0000-4000-8000-00000000000a';
    await addProject(db.pool, { projectId: u, accessLevel: 'isolated', legacyOwner: false });
    await addProject(db.pool, { projectId: '42', accessLevel: 'isolated', legacyOwner: false });
    await db.pool.query(`CREATE TABLE public.udocs (id int PRIMARY KEY, tenant uuid NOT NULL)`);
    await db.pool.query(`INSERT INTO public.udocs SELECT i, CASE WHEN i % 10 = 0 THEN '${u}'::uuid ELSE gen_random_uuid() END FROM generate_series(1, 5000) i`);
    await db.pool.query(`CREATE INDEX ON public.udocs (tenant)`);
    await db.pool.query(`CREATE TABLE public.idocs (id int PRIMARY KEY, tenant int NOT NULL)`);
    await db.pool.query(`INSERT INTO public.idocs SELECT i, i % 100 FROM generate_series(1, 5000) i`);
    await db.pool.query(`CREATE INDEX ON public.idocs (tenant)`);
    await db.pool.query(`SELECT shadowgate.protect('public.udocs', 'tenant'), shadowgate.protect('public.idocs', 'tenant')`);
    await db.grantApp();
    await db.pool.query('ANALYZE public.udocs, public.idocs');
    await setPhase(db.pool, u, 'enforcing');
    await setPhase(db.pool, '42', 'enforcing');
    await allPhases('enforcing');
    const count = (ctx: string, table: string) =>
      asApp(db.app, ctx, async (c) => (await c.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n);
    expect(await count(u, 'udocs')).toBe(500);
    expect(await count(u.toUpperCase(), 'udocs')).toBe(500);
    expect(await count('sm', 'udocs')).toBe(0); // not a uuid: no error, nothing
    expect(await count('42', 'idocs')).toBe(50);
    expect(await count('x42', 'idocs')).toBe(0);
    for (const [ctx, table] of [[u, 'udocs'], ['42', 'idocs']] as const) {
      const plan = await asApp(db.app, ctx, async (c) =>
        (await c.query(`EXPLAIN (COSTS OFF) SELECT count(*) FROM ${table}`)).rows.map((r) => r['QUERY PLAN']).join('\n'));
      expect(plan).toMatch(new RegExp(`Index (Only )?Scan using ${table}_tenant_idx|Bitmap Index Scan on ${table}_tenant_idx`));
    }
  });
});
