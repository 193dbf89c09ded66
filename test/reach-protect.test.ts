import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import pg from 'pg';
import { dropRoles, asApp, createTestDb, type TestDb } from './support/db.js';
import { cli } from './support/cli.js';
import { seedDocsAndGrant, setPhase } from './support/seed.js';

let db: TestDb & { grantApp(): Promise<void> };
let env: Record<string, string>;
const run = (...args: string[]) => cli(args, env);
const roles: string[] = [];

/** psql as a given database URL, the script on stdin (so \copy ... FROM STDIN reads inline data). */
function psql(url: string, script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('psql', [url, '-X', '-q', '-v', 'ON_ERROR_STOP=1'], { env: { ...process.env, PGCONNECT_TIMEOUT: '10' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(script);
  });
}

/** What a refused command must leave as it was. */
async function state() {
  return (await db.pool.query(`SELECT
      (SELECT count(*) FROM shadowgate.protected_tables)::int AS protected,
      (SELECT count(*) FROM shadowgate.drift_log)::int AS drifts,
      (SELECT count(*) FROM shadowgate.project_registry)::int AS projects,
      (SELECT count(*) FROM pg_policy)::int AS policies,
      (SELECT count(*) FROM pg_class WHERE relrowsecurity)::int AS rls`)).rows[0];
}

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  env = { DATABASE_URL: db.url };
  await seedDocsAndGrant(db, 5);
});
afterAll(async () => {
  await db?.drop();
  await dropRoles(roles);
});

describe('protect refuses bad input: one line, exit 2, nothing changed', () => {
  beforeAll(async () => {
    await db.pool.query(`CREATE VIEW public.docs_view AS SELECT * FROM public.docs`);
    await db.pool.query(`CREATE TABLE public.blobs (id int, project_id jsonb)`);
    await db.pool.query(`CREATE TABLE public.by_uuid (id int, tenant uuid)`);
    await db.pool.query(`CREATE TABLE public.mine (id int, project_id text)`);
    await db.pool.query(`ALTER TABLE public.mine OWNER TO "${db.appRole}"`);
  });

  it('unknown table or column, system schema, own schema, view, unsupported type, unmatchable ids, app-owned table', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['public.nope', 'project_id', /relation "public.nope" does not exist/],
      ['public.docs', 'tenant', /table public.docs has no column tenant/],
      ['pg_catalog.pg_class', 'relname', /system schema pg_catalog/],
      ['shadowgate.project_registry', 'project_id', /shadowgate's own tables/],
      ['public.docs_view', 'project_id', /public.docs_view is a view/],
      ['public.blobs', 'project_id', /type jsonb: the tenant column must be/],
      ['public.by_uuid', 'tenant', /project id "aa" can never match public.by_uuid.tenant \(uuid\): not a uuid/],
      ['public.mine', 'project_id', /owned by .*application role/],
    ];
    const before = await state();
    // refusals change nothing, so they may run side by side
    const results = await Promise.all(cases.map(([table, column]) => run('protect', table, '--column', column)));
    results.forEach((r, i) => {
      const [table, , message] = cases[i]!;
      expect(r.code, table).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    });
    expect(await state()).toEqual(before);
  }, 120_000); // eight CLI processes on a shared 2-core machine

  it('project add refuses an id the tenant column of a protected table can never hold', async () => {
    await db.pool.query(`CREATE TABLE public.short_ids (id int, project_id varchar(6))`);
    try {
      expect((await run('protect', 'public.short_ids')).code).toBe(0); // every seed id has at most 6 characters
      const before = await state();
      const r = await run('project', 'add', 'longer7', '--access', 'isolated');
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe('shadowgate: project id "longer7" can never match public.short_ids.project_id (character varying(6)): longer than 6 characters');
      expect(await state()).toEqual(before);
    } finally {
      await db.pool.query(`DROP TABLE public.short_ids`);
    }
  });

  it('knows which ids a uuid or integer column can hold (as the policies compare them, in the column\'s type)', async () => {
    const fits = async (id: string, type: string) =>
      (await db.pool.query(`SELECT shadowgate.id_mismatch($1, $2::regtype, -1) IS NULL AS ok`, [id, type])).rows[0].ok;
    expect(await fits('0f8fad5b-d9cb-469f-a165-70867728950e', 'uuid')).toBe(true);
    expect(await fits('0F8FAD5B-D9CB-469F-A165-70867728950E', 'uuid')).toBe(true); // compared as a uuid, not as text
    expect(await fits('0f8fad5bd9cb469fa16570867728950e', 'uuid')).toBe(true);
    expect(await fits('sm', 'uuid')).toBe(false);
    expect(await fits('0f8fad5b-d9cb-469f-a165-70867728950', 'uuid')).toBe(false);
    expect(await fits('2147483647', 'int4')).toBe(true);
    expect(await fits('2147483648', 'int4')).toBe(false);
    expect(await fits('40000', 'int2')).toBe(false);
    expect(await fits('123456789012345678', 'int8')).toBe(true);
    expect(await fits('1234567890123456789', 'int8')).toBe(false);
    expect(await fits('sm', 'int8')).toBe(false);
    expect(await fits('anything', 'text')).toBe(true);
  });
});

describe('whole tables', () => {
  it('protects every partition, old and new, and they hold in enforcing', async () => {
    await db.pool.query(`CREATE TABLE public.events (id bigserial, project_id text NOT NULL, at date NOT NULL, body text,
                           PRIMARY KEY (id, at)) PARTITION BY RANGE (at)`);
    await db.pool.query(`CREATE TABLE public.events_2026_01 PARTITION OF public.events FOR VALUES FROM ('2026-01-01') TO ('2026-02-01')`);
    const r = await run('protect', 'public.events');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('public.events protected (column project_id, with 1 partition)');
    expect(r.stdout).toContain('COPY public.events FROM is refused by PostgreSQL from now on: load through a staging table');
    // later partitions: created as a partition, and attached
    await db.pool.query(`CREATE TABLE public.events_2026_02 PARTITION OF public.events FOR VALUES FROM ('2026-02-01') TO ('2026-03-01')`);
    await db.pool.query(`CREATE TABLE public.events_2026_03 (LIKE public.events INCLUDING DEFAULTS)`);
    await db.pool.query(`ALTER TABLE public.events ATTACH PARTITION public.events_2026_03 FOR VALUES FROM ('2026-03-01') TO ('2026-04-01')`);
    const parts = ['public.events_2026_01', 'public.events_2026_02', 'public.events_2026_03'];
    const { rows } = await db.pool.query(`SELECT table_name FROM shadowgate.protected_tables WHERE table_name LIKE 'public.events%' ORDER BY 1`);
    expect(rows.map((x) => x.table_name)).toEqual(['public.events', ...parts]);
    await db.pool.query(`INSERT INTO public.events (project_id, at, body)
                         SELECT p, d, 'x' FROM unnest(ARRAY['sm', 'aa']) p, unnest(ARRAY['2026-01-15', '2026-02-15', '2026-03-15']::date[]) d`);
    // the usual migration grant: rights on every partition, directly
    await db.pool.query(`GRANT ALL ON ALL TABLES IN SCHEMA public TO "${db.appRole}"`);
    await setPhase(db.pool, 'sm', 'enforcing');
    await asApp(db.app, 'sm', async (c) => {
      for (const t of ['public.events', ...parts]) {
        expect((await c.query(`SELECT DISTINCT project_id FROM ${t}`)).rows).toEqual([{ project_id: 'sm' }]);
        expect((await c.query(`UPDATE ${t} SET body = 'stolen' WHERE project_id = 'aa'`)).rowCount).toBe(0);
        expect((await c.query(`DELETE FROM ${t} WHERE project_id = 'aa'`)).rowCount).toBe(0);
      }
    });
    for (const t of parts) {
      const err = await asApp(db.app, 'sm', (c) => c.query(`INSERT INTO ${t} (project_id, at, body) SELECT 'aa', min(at), 'x' FROM ${t}`))
        .then(() => null, (e: Error & { code?: string }) => e.code);
      expect(err).toBe('42501');
    }
    const untouched = await db.pool.query(`SELECT count(*)::int AS n FROM public.events WHERE project_id = 'aa' AND body = 'x'`);
    expect(untouched.rows[0].n).toBe(3);
  });

  it('grant covers the schema and every sequence the table uses', async () => {
    const role = `${db.appRole}_billing`;
    roles.push(role);
    await db.pool.query(`CREATE ROLE "${role}" LOGIN`);
    await db.pool.query(`CREATE SCHEMA "Billing"`);
    await db.pool.query(`CREATE SEQUENCE "Billing".invoice_no`);
    await db.pool.query(`CREATE TABLE "Billing"."Invoices" (id serial PRIMARY KEY, no bigint DEFAULT nextval('"Billing".invoice_no'), project_id text NOT NULL)`);
    expect((await run('protect', '"Billing"."Invoices"')).code).toBe(0);
    const g = await run('grant', role);
    expect(g.code).toBe(0);
    const u = new URL(db.appUrl);
    u.username = role;
    const pool = new pg.Pool({ connectionString: u.toString(), max: 1 });
    try {
      const inserted = await asApp(pool, 'sm', (c) => c.query(`INSERT INTO "Billing"."Invoices" (project_id) VALUES ('sm') RETURNING id, no`));
      expect(inserted.rows).toEqual([{ id: 1, no: 1 }]);
    } finally {
      await pool.end();
      await db.pool.query(`DROP OWNED BY "${role}"`);
    }
  });
});

describe('COPY', () => {
  const load = (project: string, rows: string[]) => `
BEGIN;
SELECT shadowgate.set_project_context('${project}') \\g /dev/null
CREATE TEMP TABLE stage (project_id text, body text) ON COMMIT DROP;
\\copy stage (project_id, body) FROM STDIN
${rows.join('\n')}
\\.
INSERT INTO public.docs (project_id, body) SELECT project_id, body FROM stage;
COMMIT;
`;
  const docsOf = async (owner: string) =>
    (await db.pool.query(`SELECT count(*)::int AS n FROM public.docs WHERE project_id = $1 AND body LIKE 'loaded%'`, [owner])).rows[0].n;

  it('COPY FROM a protected table is refused by PostgreSQL; the staging path loads through the policies in enforcing', async () => {
    await setPhase(db.pool, 'motoko', 'enforcing');
    const direct = await psql(db.appUrl, `BEGIN;\nSELECT shadowgate.set_project_context('motoko') \\g /dev/null\n\\copy public.docs (project_id, body) FROM STDIN\nmotoko\tloaded 0\n\\.\nCOMMIT;\n`);
    expect(direct.code).not.toBe(0);
    expect(direct.stderr).toContain('COPY FROM not supported with row-level security');
    const own = await psql(db.appUrl, load('motoko', ['motoko\tloaded 1', 'motoko\tloaded 2']));
    expect(own.stderr).toBe('');
    expect(own.code).toBe(0);
    expect(await docsOf('motoko')).toBe(2);
    const foreign = await psql(db.appUrl, load('motoko', ['motoko\tloaded 3', 'aa\tloaded by motoko']));
    expect(foreign.code).not.toBe(0);
    expect(foreign.stderr).toContain('new row violates row-level security policy');
    expect(await docsOf('motoko')).toBe(2);
    expect(await docsOf('aa')).toBe(0);
    // COPY ... TO goes through the policies: only motoko's rows come out
    const out = await psql(db.appUrl, `BEGIN;\nSELECT shadowgate.set_project_context('motoko') \\g /dev/null\n\\copy public.docs (project_id) TO STDOUT\nCOMMIT;\n`);
    expect(out.code).toBe(0);
    expect(new Set(out.stdout.trim().split('\n'))).toEqual(new Set(['motoko']));
  });

  it('in shadow the staging path loads and records every foreign row', async () => {
    await setPhase(db.pool, 'ab', 'shadow');
    await db.pool.query('SELECT shadowgate.absorb_audit()');
    const before = (await db.pool.query(`SELECT coalesce(sum(row_count), 0)::int AS n FROM shadowgate.rls_audit_log
                                           WHERE project_id = 'ab' AND row_project_id = 'bap' AND would_be_denied`)).rows[0].n;
    const r = await psql(db.appUrl, load('ab', ['ab\tloaded a', 'bap\tloaded b1', 'bap\tloaded b2']));
    expect(r.code).toBe(0);
    expect(await docsOf('bap')).toBe(2);
    await db.pool.query('SELECT shadowgate.absorb_audit()');
    const after = (await db.pool.query(`SELECT coalesce(sum(row_count), 0)::int AS n FROM shadowgate.rls_audit_log
                                          WHERE project_id = 'ab' AND row_project_id = 'bap' AND would_be_denied`)).rows[0].n;
    expect(after - before).toBe(2);
  });
});
