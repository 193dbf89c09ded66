import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { spawnSync } from 'node:child_process';
import {
  InvalidProjectError, NotGrantedError, NotInstalledError, RowAccessDeniedError, ShadowgateClientError, withProject,
} from '../client/index.js';
import { addProject } from '../shared/db/projects.js';
import { absorbAndLoadStats } from '../shared/db/stats.js';
import { projectRoot } from '../shared/paths.js';
import { adminQuery, createTestDb, urlFor, type TestDb } from './support/db.js';
import { createDocs, setPhase } from './support/seed.js';

let db: TestDb & { grantApp(): Promise<void> };
// a role and a database of this run that shadowgate was never given
let ungranted: string;
let bare: string;

beforeAll(async () => {
  db = await createTestDb(import.meta.url);
  for (const id of ['enf', 'shd', 'other']) await addProject(db.pool, { projectId: id, accessLevel: 'isolated' });
  await createDocs(db.pool, 10);
  await db.grantApp();
  await setPhase(db.pool, 'enf', 'enforcing');
  await setPhase(db.pool, 'shd', 'shadow');
  ungranted = `${db.appRole}_ng`;
  bare = `${db.name}_bare`;
  await adminQuery(`CREATE ROLE "${ungranted}" LOGIN`);
  await adminQuery(`CREATE DATABASE "${bare}"`);
});
afterAll(async () => {
  await adminQuery(`DROP DATABASE IF EXISTS "${bare}" WITH (FORCE)`);
  await adminQuery(`DROP ROLE IF EXISTS "${ungranted}"`);
  await db?.drop();
});

const count = (c: pg.ClientBase) => c.query<{ n: number }>('SELECT count(*)::int AS n FROM docs').then((r) => r.rows[0]!.n);
const rowsOf = async (project: string) =>
  (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM docs WHERE project_id = $1', [project])).rows[0]!.n;

describe('withProject on a Pool', () => {
  it('runs the function as the project and commits', async () => {
    const before = await rowsOf('enf');
    const seen = await withProject(db.app, 'enf', async (c) => {
      await c.query(`INSERT INTO docs (project_id, body) VALUES ('enf', 'mine')`);
      return count(c);
    });
    expect(seen).toBe(before + 1); // enforcing: only its own rows
    expect(await rowsOf('enf')).toBe(before + 1);
  });

  it('counts the transaction and records what shadow would deny', async () => {
    const total = (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM docs')).rows[0]!.n;
    const [before] = await absorbAndLoadStats(db.pool, ['shd']);
    expect(await withProject(db.app, 'shd', count)).toBe(total); // shadow blocks nothing
    const [after] = await absorbAndLoadStats(db.pool, ['shd']);
    if (!before || !after) throw new Error('project shd has no stats');
    expect(after.transactions - before.transactions).toBe(1);
    expect(after.violations).toBeGreaterThan(before.violations);
  });

  it('rolls back and rethrows the same error when the function throws', async () => {
    const before = await rowsOf('enf');
    const boom = new Error('boom');
    await expect(withProject(db.app, 'enf', async (c) => {
      await c.query(`INSERT INTO docs (project_id, body) VALUES ('enf', 'lost')`);
      throw boom;
    })).rejects.toBe(boom);
    expect(await rowsOf('enf')).toBe(before);
  });

  it('turns a write refused by an enforcing policy into RowAccessDeniedError', async () => {
    const before = await rowsOf('other');
    const err = await withProject(db.app, 'enf', (c) => c.query(`INSERT INTO docs (project_id, body) VALUES ('other', 'x')`)).catch((e) => e);
    expect(err).toBeInstanceOf(RowAccessDeniedError);
    expect(err).toBeInstanceOf(ShadowgateClientError);
    expect(err.code).toBe('42501');
    expect(await rowsOf('other')).toBe(before);
  });

  it('keeps projects apart under concurrency and returns every connection', async () => {
    const pool = new pg.Pool({ connectionString: db.appUrl, max: 3 });
    try {
      const own = await rowsOf('enf');
      const total = (await db.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM docs')).rows[0]!.n;
      const runs = Array.from({ length: 30 }, (_, i) => (i % 2 ? 'enf' : 'shd'));
      const seen = await Promise.all(runs.map((p) => withProject(pool, p, count)));
      expect(seen).toEqual(runs.map((p) => (p === 'enf' ? own : total)));
      await withProject(pool, 'enf', () => Promise.reject(new Error('x'))).catch(() => undefined);
      expect(pool.idleCount).toBe(pool.totalCount);
      expect(pool.waitingCount).toBe(0);
    } finally {
      await pool.end();
    }
  });
});

describe('withProject on a Client', () => {
  it('leaves the client usable after a failed transaction', async () => {
    const client = new pg.Client({ connectionString: db.appUrl });
    await client.connect();
    try {
      await expect(withProject(client, 'enf', (c) => c.query('SELECT * FROM no_such_table'))).rejects.toMatchObject({ code: '42P01' });
      expect(await withProject(client, 'enf', count)).toBe(await rowsOf('enf'));
    } finally {
      await client.end();
    }
  });
});

describe('typed errors', () => {
  it('refuses an empty project id before touching the database', async () => {
    await expect(withProject(db.app, '', count)).rejects.toBeInstanceOf(InvalidProjectError);
  });

  it('says when the role was not granted', async () => {
    const pool = new pg.Pool({ connectionString: urlFor(db.name, ungranted) });
    try {
      const err = await withProject(pool, 'enf', count).catch((e) => e);
      expect(err).toBeInstanceOf(NotGrantedError);
      expect(err.message).toMatch(/shadowgate grant/);
    } finally {
      await pool.end();
    }
  });

  it('says when shadowgate is not installed', async () => {
    const pool = new pg.Pool({ connectionString: urlFor(bare) });
    try {
      const err = await withProject(pool, 'enf', count).catch((e) => e);
      expect(err).toBeInstanceOf(NotInstalledError);
      expect(err.message).toMatch(/shadowgate db migrate/);
    } finally {
      await pool.end();
    }
  });
});

describe("import { withProject } from 'shadowgate/client'", () => {
  it('resolves to the built package and leaves the application\'s pg type parsers alone', () => {
    const script = `
      import { withProject } from 'shadowgate/client';
      import pg from 'pg';
      const pool = new pg.Pool({ connectionString: process.env.APP_URL });
      const n = await withProject(pool, 'enf', async (c) => (await c.query('SELECT count(*) AS n FROM docs')).rows[0].n);
      await pool.end();
      console.log(JSON.stringify({ n, parser: typeof pg.types.getTypeParser(20)('1') }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: projectRoot(), env: { ...process.env, APP_URL: db.appUrl }, encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    const out = JSON.parse(r.stdout);
    expect(out.parser).toBe('string'); // bigint still arrives as a string, as pg does by default
    expect(Number(out.n)).toBeGreaterThan(0);
  });
});
