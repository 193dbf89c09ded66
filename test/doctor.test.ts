import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { doctor, type Finding } from '../shared/db/doctor.js';
import { loadConfig } from '../shared/config.js';
import { absorbAndReadDashboardState } from '../cli/dashboard/state.js';
import { dropRoles, createTestDb, type TestDb } from './support/db.js';
import { cli } from './support/cli.js';
import { seedDocsAndGrant } from './support/seed.js';

let db: TestDb & { grantApp(): Promise<void> };
const extraRoles: string[] = [];
const findings = (allow: string[] = []) => doctor(db.pool, allow);
const named = (fs: Finding[], kind: string, object: string) => fs.find((f) => f.kind === kind && f.object === object);

/** Creates a route, checks that doctor names it, removes it: every test leaves the setup clean. */
async function route(create: string[], remove: string[], kind: string, object: string, why: RegExp, fix: RegExp): Promise<void> {
  for (const s of create) await db.pool.query(s);
  try {
    const f = named(await findings(), kind, object);
    expect(f, `${kind} ${object}`).toBeDefined();
    expect(f!.why).toMatch(why);
    expect(f!.fix).toMatch(fix);
  } finally {
    for (const s of remove) await db.pool.query(s);
  }
  expect(named(await findings(), kind, object)).toBeUndefined();
}

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  await seedDocsAndGrant(db, 2);
});
afterAll(async () => {
  await db?.drop();
  await dropRoles(extraRoles);
});

describe('shadowgate doctor', () => {
  it('reports nothing on a clean setup (exit 0, human and --json)', async () => {
    const env = { DATABASE_URL: db.url };
    const [human, json] = await Promise.all([cli(['doctor'], env), cli(['doctor', '--json'], env)]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('no route around the policies or around recording found');
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({ clean: true, findings: [] });
  });

  it('names routes with object, why and fix, exit 1, and is a warning line in report', async () => {
    await db.pool.query(`CREATE VIEW public.all_docs AS SELECT * FROM public.docs`);
    await db.pool.query(`GRANT SELECT ON public.docs TO PUBLIC`);
    try {
      const env = { DATABASE_URL: db.url };
      const [human, json, report] = await Promise.all([cli(['doctor'], env), cli(['doctor', '--json'], env), cli(['report'], env)]);
      expect(human.code).toBe(1);
      expect(human.stdout).toContain('✗ view public.all_docs: reads public.docs with the rights of its owner postgres, who is a superuser');
      expect(human.stdout).toContain('  fix: ALTER VIEW public.all_docs SET (security_invoker = true)');
      expect(human.stdout).toContain('2 routes around the policies or around recording');
      expect(json.code).toBe(1);
      const out = JSON.parse(json.stdout);
      expect(out.clean).toBe(false);
      expect(out.findings.map((f: Finding) => `${f.kind} ${f.object}`)).toEqual(['privilege public.docs', 'view public.all_docs']);
      expect(report.stdout).toContain('Warning: shadowgate doctor finds 2 routes around the policies or around recording (run `shadowgate doctor`)');
      const dash = await absorbAndReadDashboardState(db.pool, loadConfig({ DATABASE_URL: db.url }), new Date());
      expect(dash.doctor_warning).toBe('Warning: shadowgate doctor finds 2 routes around the policies or around recording (run `shadowgate doctor`)');
    } finally {
      await db.pool.query(`DROP VIEW public.all_docs`);
      await db.pool.query(`REVOKE ALL ON public.docs FROM PUBLIC`);
    }
  });

  it('views over protected tables that read with a bypassing owner\'s rights, directly or through another view', () =>
    route([`CREATE VIEW public.v1 AS SELECT * FROM public.docs WITH CHECK OPTION`,
           `ALTER VIEW public.v1 SET (security_invoker = true)`,
           `CREATE VIEW public.v2 AS SELECT count(*) FROM public.v1`],
          [`DROP VIEW public.v2`, `DROP VIEW public.v1`],
          'view', 'public.v2', /reads public.docs with the rights of its owner postgres/, /security_invoker = true/));

  it('materialized views', () =>
    route([`CREATE MATERIALIZED VIEW public.mv AS SELECT project_id, count(*) FROM public.docs GROUP BY 1`], [`DROP MATERIALIZED VIEW public.mv`],
          'materialized view', 'public.mv', /copy of rows of public.docs/, /DROP MATERIALIZED VIEW public.mv/));

  it('foreign keys whose action changes rows of a protected table', () =>
    route([`CREATE TABLE public.folders (id int PRIMARY KEY)`,
           `CREATE TABLE public.notes (id int, project_id text, folder_id int REFERENCES public.folders ON DELETE CASCADE)`,
           `SELECT shadowgate.protect_table('public.notes')`],
          [`DROP TABLE public.notes`, `DROP TABLE public.folders`],
          'foreign key', 'notes_folder_id_fkey on public.notes', /ON DELETE CASCADE of a row of public.folders changes rows of protected public.notes/, /NO ACTION or RESTRICT/));

  it('partitions created while the event trigger was off, and the event trigger off', async () => {
    await db.pool.query(`CREATE TABLE public.log (project_id text, at date) PARTITION BY RANGE (at)`);
    await db.pool.query(`SELECT shadowgate.protect_table('public.log')`);
    await route([`ALTER EVENT TRIGGER shadowgate_ddl_end DISABLE`,
                 `CREATE TABLE public.log_2026 PARTITION OF public.log FOR VALUES FROM ('2026-01-01') TO ('2027-01-01')`],
                [`ALTER EVENT TRIGGER shadowgate_ddl_end ENABLE`],
                'event trigger', 'shadowgate_ddl_end', /no longer reset the shadow clock/, /ENABLE/);
    await route([], [`SELECT shadowgate.protect_table('public.log')`],
                'partition', 'public.log_2026', /partition of protected public.log without the policies/, /shadowgate protect public.log --column project_id/);
    await db.pool.query(`DROP TABLE public.log`);
  });

  it('login roles with BYPASSRLS holding privileges, their sessions, and the allow-list', async () => {
    const role = `${db.appRole}_etl`;
    extraRoles.push(role);
    await db.pool.query(`CREATE ROLE "${role}" LOGIN BYPASSRLS`);
    await db.pool.query(`GRANT SELECT ON public.docs TO "${role}"`);
    const u = new URL(db.url);
    u.username = role;
    const session = new pg.Client({ connectionString: u.toString() });
    await session.connect();
    try {
      const pid = (await session.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
      const fs = await findings();
      expect(named(fs, 'role', role)!.why).toMatch(/can log in, has BYPASSRLS and holds privileges on public.docs/);
      expect(named(fs, 'session', `pid ${pid} (${role})`)!.fix).toContain(`pg_terminate_backend(${pid})`);
      const allowed = await findings([role]);
      expect(allowed.filter((f) => f.object.includes(role))).toEqual([]);
    } finally {
      await session.end();
      await db.pool.query(`DROP OWNED BY "${role}"`);
    }
    expect((await findings()).filter((f) => f.object.includes(role))).toEqual([]);
  });

  it('SECURITY DEFINER functions of a bypassing owner that name a protected table or run dynamic SQL', async () => {
    await route([`CREATE FUNCTION public.count_docs() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS 'SELECT count(*) FROM public.docs'`],
                [`DROP FUNCTION public.count_docs()`],
                'function', 'public.count_docs()', /SECURITY DEFINER, owned by postgres \(superuser\), and its body names public.docs/, /SECURITY INVOKER/);
    await route([`CREATE FUNCTION public.run(q text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS 'BEGIN EXECUTE q; END'`],
                [`DROP FUNCTION public.run(text)`],
                'function', 'public.run(text)', /runs dynamic SQL/, /SECURITY INVOKER/);
  });

  it('privileges to PUBLIC, and TRUNCATE', async () => {
    await route([`GRANT SELECT, UPDATE ON public.docs TO PUBLIC`], [`REVOKE ALL ON public.docs FROM PUBLIC`],
                'privilege', 'public.docs', /PUBLIC \(every role\) holds SELECT, UPDATE on it/, /REVOKE ALL ON public.docs FROM PUBLIC/);
    await route([`GRANT TRUNCATE ON public.docs TO "${db.appRole}"`], [`REVOKE TRUNCATE ON public.docs FROM "${db.appRole}"`],
                'privilege', 'public.docs', /may TRUNCATE it/, /REVOKE TRUNCATE ON public.docs FROM/);
  });

  it('RLS disabled or not forced on a protected table', async () => {
    await route([`ALTER TABLE public.docs DISABLE ROW LEVEL SECURITY`], [`ALTER TABLE public.docs ENABLE ROW LEVEL SECURITY`],
                'table', 'public.docs', /row level security is disabled/, /ENABLE ROW LEVEL SECURITY, FORCE ROW LEVEL SECURITY/);
    await route([`ALTER TABLE public.docs NO FORCE ROW LEVEL SECURITY`], [`ALTER TABLE public.docs FORCE ROW LEVEL SECURITY`],
                'table', 'public.docs', /not forced: its owner postgres reads and writes around the policies/, /FORCE ROW LEVEL SECURITY/);
  });

  it('a protected table owned by the application role', () =>
    route([`ALTER TABLE public.docs OWNER TO "${db.appRole}"`], [`ALTER TABLE public.docs OWNER TO postgres`],
          'table', 'public.docs', /which the application role .* is \(a member of\): it can switch the policies off/, /OWNER TO/));

  it('tables with the tenant column that are not protected (e.g. dropped and re-created)', () =>
    route([`CREATE TABLE public.attachments (id int, project_id text)`], [`DROP TABLE public.attachments`],
          'table', 'public.attachments', /has the tenant column project_id but is not protected/, /shadowgate protect public.attachments --column project_id/));
});
