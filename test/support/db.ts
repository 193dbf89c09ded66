import pg from 'pg';
import { basename } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createPool, withTransaction, type Pool } from '../../shared/db/pool.js';
import { migrateSchema } from '../../shared/db/schema-migration.js';
import { grantApp } from '../../shared/db/protection.js';

export const ADMIN_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

export function urlFor(db: string, user = 'postgres'): string {
  const u = new URL(ADMIN_URL);
  u.pathname = `/${db}`;
  u.username = user;
  u.password = '';
  return u.toString();
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** One statement on the admin connection (for objects a test creates and drops itself). */
export async function adminQuery(statement: string): Promise<void> {
  await admin((c) => c.query(statement));
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

/**
 * A fresh database for one test file (named after it plus a random run id, so files and whole runs
 * can run in parallel), migrated, with
 * an application role of its own. Call `grantApp()` after protecting tables.
 */
export async function createTestDb(file: string): Promise<TestDb & { grantApp(): Promise<void> }> {
  const tag = basename(file).replace(/\.test\.ts$/, '').replace(/[^a-z0-9]/gi, '_').toLowerCase();
  // names of this run's own: two runs at once on one server do not touch each other's objects
  const run = randomBytes(4).toString('hex');
  const name = `sg_t_${tag}_${run}`;
  const appRole = `sg_app_${tag}_${run}`;
  await admin(async (c) => {
    await c.query(`CREATE DATABASE "${name}"`);
    await c.query(`CREATE ROLE "${appRole}" LOGIN`);
  });
  const url = urlFor(name);
  await migrateSchema(url);
  const pool = createPool(url, 8);
  const appUrl = urlFor(name, appRole);
  const app = createPool(appUrl, 8);
  return {
    name,
    url,
    pool,
    appRole,
    appUrl,
    app,
    async grantApp() {
      await grantApp(pool, appRole);
    },
    async drop() {
      await app.end();
      await pool.end();
      await admin(async (c) => {
        await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
        await c.query(`DROP ROLE IF EXISTS "${appRole}"`);
      });
    },
  };
}

/** Runs statements in one transaction as the application would, after set_project_context. */
export function asApp<T>(app: Pool, project: string | null, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  return withTransaction(app, async (c) => {
    if (project !== null) await c.query('SELECT shadowgate.set_project_context($1)', [project]);
    return fn(c);
  });
}
