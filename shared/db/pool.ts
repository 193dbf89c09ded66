import pg from 'pg';
import { InputError, UnavailableError } from '../errors.js';
import { queryOne } from './sql.js';

// counts and ids are bigint in PostgreSQL; every one we read fits a double
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

export type Pool = pg.Pool;
export type Client = pg.PoolClient;
export type Queryable = pg.Pool | pg.ClientBase;

export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 5432}${u.pathname}`;
  } catch {
    return 'the configured DATABASE_URL';
  }
}

export function createPool(url: string, max = 5): Pool {
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: 5000 });
  pool.on('error', (err) => console.error(`shadowgate: idle database connection failed: ${err.message}`));
  // a connection lost while checked out (a restart, a failover) fails the query in flight; the pool
  // listens only on idle ones, and an 'error' event nobody listens to would end the process
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/**
 * Fails with one line when the database cannot be reached (exit 2) or was never migrated (exit 2,
 * naming the command that installs the schema) — instead of the first statement's raw error.
 */
export async function checkDatabase(pool: Pool, url: string): Promise<void> {
  let installed: boolean;
  try {
    installed = (await queryOne<{ installed: boolean }>(pool, 'schema-installed')).installed;
  } catch (err) {
    throw new UnavailableError(`cannot reach PostgreSQL at ${describeUrl(url)}: ${(err as Error).message || (err as { code?: string }).code}`);
  }
  if (!installed) throw new InputError(`the shadowgate schema is missing in ${describeUrl(url)}: run \`shadowgate db migrate\` (with this DATABASE_URL, as a superuser)`);
}

export async function withTransaction<T>(pool: Pool, fn: (c: Client) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
