import type pg from 'pg';
import { basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createPool, type Pool } from '../../shared/db/pool.js';
import { grantApp } from '../../shared/db/protection.js';
import { asAdmin, createScratchDb, dropScratchDb, urlFor as scratchUrl } from '../../fixtures/scratch-db.js';

export const ADMIN_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

export const urlFor = (db: string, user = 'postgres'): string => scratchUrl(ADMIN_URL, db, user);

/** One statement on the admin connection (for objects a test creates and drops itself). */
export async function adminQuery(statement: string): Promise<void> {
  await asAdmin(ADMIN_URL, (c) => c.query(statement));
}

/** Drops roles a test created beside its database (roles are cluster-wide: createTestDb's drop() leaves them). */
export async function dropRoles(names: readonly string[]): Promise<void> {
  for (const r of names) await adminQuery(`DROP ROLE IF EXISTS "${r}"`);
}

export interface TestDb {
  name: string;
  url: string;
  pool: Pool;
  /** a LOGIN role, not superuser, not owner, no BYPASSRLS, granted with shadowgate.grant_app() */
  appRole: string;
  appUrl: string;
  app: Pool;
  drop(): Promise<void>;
}

/** The pools of a test database and how to remove it. */
function testDb(name: string, appRole: string, remove: () => Promise<void>): TestDb {
  const url = scratchUrl(ADMIN_URL, name);
  const appUrl = scratchUrl(ADMIN_URL, name, appRole);
  const pool = createPool(url, 8);
  const app = createPool(appUrl, 8);
  return {
    name, url, pool, appRole, appUrl, app,
    async drop() {
      await app.end();
      await pool.end();
      await remove();
    },
  };
}

/** A random run id: two runs at once on one server do not touch each other's objects. */
const runId = () => randomBytes(4).toString('hex');
const fileTag = (file: string) => basename(file).replace(/\.test\.ts$/, '').replace(/[^a-z0-9]/gi, '_').toLowerCase();

/**
 * A fresh database for one test file (named after it plus a random run id, so files and whole runs
 * can run in parallel), migrated, with
 * an application role of its own. Call `grantApp()` after protecting tables.
 */
export async function createTestDb(file: string): Promise<TestDb & { grantApp(): Promise<void> }> {
  const tag = fileTag(file);
  const run = runId();
  const name = `sg_t_${tag}_${run}`;
  const appRole = `sg_app_${tag}_${run}`;
  await createScratchDb(ADMIN_URL, name, appRole);
  const db = testDb(name, appRole, () => dropScratchDb(ADMIN_URL, name, appRole));
  return { ...db, grantApp: () => grantApp(db.pool, appRole) };
}

export interface TemplateDb {
  /** a database of the test's own, a copy of the template as `prepare` left it */
  copy(): Promise<TestDb>;
  drop(): Promise<void>;
}

/**
 * A test database prepared once by `prepare` (migrated, then e.g. seeded, protected, granted),
 * from which each test takes a copy of its own (CREATE DATABASE … TEMPLATE: a fraction of a
 * second): every test starts from that state and sees only what it builds itself.
 */
export async function createTemplateDb(file: string, prepare: (db: TestDb & { grantApp(): Promise<void> }) => Promise<void>): Promise<TemplateDb> {
  const tag = fileTag(file);
  const run = runId();
  const template = `sg_t_${tag}_${run}`;
  const appRole = `sg_app_${tag}_${run}`;
  await createScratchDb(ADMIN_URL, template, appRole);
  const db = testDb(template, appRole, async () => undefined);
  try {
    await prepare({ ...db, grantApp: () => grantApp(db.pool, appRole) });
  } catch (err) {
    await db.drop();
    await dropScratchDb(ADMIN_URL, template, appRole);
    throw err;
  }
  await db.drop(); // a template may have no sessions while it is copied
  let copies = 0;
  return {
    async copy() {
      const name = `${template}_${++copies}`;
      await adminQuery(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
      return testDb(name, appRole, () => adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    },
    drop: () => dropScratchDb(ADMIN_URL, template, appRole),
  };
}

/** Runs statements in one transaction as the application would, after set_project_context, then flushes the session's recorder. */
export async function asApp<T>(app: Pool, project: string | null, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await app.connect();
  try {
    await c.query('BEGIN');
    if (project !== null) await c.query('SELECT shadowgate.set_project_context($1)', [project]);
    const result = await fn(c);
    await c.query('COMMIT');
    // what a pool should do before parking a connection: the session's counted transactions and
    // coverage reach the recorder now, not with its next transaction
    await c.query('SELECT shadowgate.flush_recorder()');
    return result;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release();
  }
}

/**
 * Runs `statements` on one application session (default_transaction_read_only with `readOnlySession`), waits
 * until its recorder has written everything the session sent, then ends the session.
 */
export async function onOneAppSession(app: Pool, statements: string[], options: { readOnlySession?: boolean } = {}): Promise<void> {
  const c = await app.connect();
  try {
    if (options.readOnlySession) await c.query('SET default_transaction_read_only = on');
    for (const q of statements) await c.query(q);
    await c.query('SELECT shadowgate.flush_recorder()');
  } catch (err) {
    await c.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    c.release(true);
  }
}
