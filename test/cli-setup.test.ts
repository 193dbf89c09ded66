// What a newcomer runs first: help that answers without loading the pipeline, `db migrate` on a
// database that does not exist yet, `grant` of a role that does not exist yet.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { projectRoot } from '../shared/paths.js';
import { adminQuery, createTestDb, urlFor, type TestDb } from './support/db.js';
import { cli } from './support/cli.js';

let db: TestDb & { grantApp(): Promise<void> };
const run = randomBytes(4).toString('hex');
const missing = `sg_t_cli_setup_new_${run}`;
const bare = `sg_t_cli_setup_bare_${run}`; // created, never migrated
const newRole = `sg_app_cli_setup_new_${run}`;
const tmp = mkdtempSync(join(tmpdir(), 'sg-hook-'));
const hook = join(tmp, 'hook.mjs');

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  await adminQuery(`CREATE DATABASE "${bare}"`);
  await db.pool.query(`CREATE TABLE public.docs (id bigserial PRIMARY KEY, project_id varchar(50) NOT NULL)`);
  await db.pool.query(`SELECT shadowgate.protect('public.docs')`);
  // prints every package the CLI resolves (ESM), to see what a command loads
  // and every module of dist/shared/ it imports, as shared/<path>
  const resolver = `export async function resolve(s, c, next) {
    const r = await next(s, c);
    if (!/^(\\.|node:|file:)/.test(s)) process.stderr.write('LOADS ' + s + '\\n');
    else if (r.url.includes('/dist/shared/')) process.stderr.write('LOADS shared/' + r.url.split('/dist/shared/')[1] + '\\n');
    return r;
  }`;
  writeFileSync(hook, `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(resolver)}));\n`);
});
afterAll(async () => {
  await adminQuery(`DROP DATABASE IF EXISTS "${missing}" WITH (FORCE)`);
  await adminQuery(`DROP DATABASE IF EXISTS "${bare}" WITH (FORCE)`);
  await db?.drop(); // before the role: its grants live in this database
  await adminQuery(`DROP ROLE IF EXISTS "${newRole}"`);
  rmSync(tmp, { recursive: true, force: true });
});

/** The packages a CLI invocation loads. */
function loads(args: string[], env: Record<string, string> = {}): string[] {
  const r = spawnSync(process.execPath, ['--import', hook, join(projectRoot(), 'dist/cli/main.js'), ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env }, encoding: 'utf8',
  });
  return [...new Set(r.stderr.split('\n').filter((l) => l.startsWith('LOADS ')).map((l) => l.slice(6)))].sort();
}

const HEAVY = ['bullmq', 'ioredis', 'nodemailer', 'prom-client', 'pg-listen', '@slack/webhook', 'node-pg-migrate'];

describe('start-up', () => {
  it('--help and every command\'s --help load commander and the command definitions alone', () => {
    for (const args of [['--help'], ['status', '--help'], ['run', '--help'], ['dashboard', '--help']]) {
      const got = loads(args);
      expect(got).toContain('commander');
      // nothing of the database layer, the rules, the configuration or the pipeline; no driver, no luxon
      expect(got.filter((m) => m !== 'commander' && m !== 'shared/errors.js'), args.join(' ')).toEqual([]);
    }
  });

  it('status loads the driver and its own reads, nothing of the other commands or the pipeline', () => {
    const got = loads(['status'], { DATABASE_URL: db.url });
    expect(got).toContain('pg');
    expect(got.filter((m) => HEAVY.includes(m))).toEqual([]);
    expect(got.filter((m) => m.startsWith('shared/db/'))).toEqual(
      ['shared/db/coverage.js', 'shared/db/intake.js', 'shared/db/notifications.js', 'shared/db/pool.js', 'shared/db/sql.js', 'shared/db/stats.js'],
    );
    expect(got.filter((m) => m.startsWith('shared/jobs/'))).toEqual([]);
  });
});

describe('db migrate', () => {
  it('creates the database when it is missing, then migrates it', async () => {
    const r = await cli(['db', 'migrate'], { DATABASE_URL: urlFor(missing) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`created database 127.0.0.1:5432/${missing}`);
    expect(r.stdout).toContain('applied 001_schema');
    const again = await cli(['db', 'migrate'], { DATABASE_URL: urlFor(missing) });
    expect(again.stdout.trim()).toBe('✓ schema up to date');
  });

  it('says exactly what to run when the role may not create it', async () => {
    const r = await cli(['db', 'migrate'], { DATABASE_URL: urlFor(`${missing}_x`, db.appRole) });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain(`database "${missing}_x" does not exist on 127.0.0.1:5432`);
    expect(r.stderr).toContain(`createdb -h 127.0.0.1 -p 5432 ${missing}_x`);
  });
});

describe('a database that was never migrated', () => {
  it('every command says in one line that the schema is missing and what to run, exit 2, and changes nothing', async () => {
    const url = urlFor(bare);
    for (const args of [['health'], ['status'], ['report'], ['project', 'add', 'sm', '--access', 'isolated'], ['run', 'workers']]) {
      const r = await cli(args, { DATABASE_URL: url });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toBe(`shadowgate: the shadowgate schema is missing in 127.0.0.1:5432/${bare}: run \`shadowgate db migrate\` (with this DATABASE_URL, as a superuser)\n`);
    }
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      expect((await c.query(`SELECT count(*)::int AS n FROM pg_namespace WHERE nspname = 'shadowgate'`)).rows[0].n).toBe(0);
    } finally {
      await c.end();
    }
  });
});

describe('grant', () => {
  it('a role that does not exist: one line saying how to create it', async () => {
    const r = await cli(['grant', newRole], { DATABASE_URL: db.url });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`shadowgate: role "${newRole}" does not exist: create it (CREATE ROLE "${newRole}" LOGIN PASSWORD '…') or run \`shadowgate grant ${newRole} --create-role\``);
  });

  it('--create-role creates a plain LOGIN role and grants it; again it only grants', async () => {
    const r = await cli(['grant', newRole, '--create-role'], { DATABASE_URL: db.url });
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`created role ${newRole}`);
    const { rows } = await db.pool.query('SELECT rolcanlogin, rolsuper, rolbypassrls, rolcreatedb FROM pg_roles WHERE rolname = $1', [newRole]);
    expect(rows).toEqual([{ rolcanlogin: true, rolsuper: false, rolbypassrls: false, rolcreatedb: false }]);
    const { rows: priv } = await db.pool.query(`SELECT has_function_privilege($1, 'shadowgate.set_project_context(text)', 'EXECUTE') AS ok`, [newRole]);
    expect(priv[0].ok).toBe(true);
    const again = await cli(['grant', newRole, '--create-role'], { DATABASE_URL: db.url });
    expect(again.code).toBe(0);
    expect(again.stdout).not.toContain('created role');
  });
});
