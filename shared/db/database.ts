import pg from 'pg';
import { InputError, SQLSTATE, sqlState, UnavailableError } from '../errors.js';
import { describeUrl, type Queryable } from './pool.js';
import { queryOne } from './sql.js';

/**
 * Creates the database of `url` when it does not exist (connected to the server's `postgres`
 * database with the same credentials). Returns whether it created it; says exactly what to run
 * when the role may not create databases.
 */
export async function ensureDatabase(url: string): Promise<boolean> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1)) || decodeURIComponent(target.username) || 'postgres';
  const probe = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await probe.connect();
    return false;
  } catch (err) {
    if (sqlState(err) !== SQLSTATE.invalidCatalogName) throw new UnavailableError(`cannot reach PostgreSQL at ${describeUrl(url)}: ${(err as Error).message}`);
  } finally {
    await probe.end().catch(() => undefined);
  }
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const c = new pg.Pool({ connectionString: maintenance.toString(), connectionTimeoutMillis: 5000, max: 1 });
  const how = `database "${name}" does not exist on ${target.hostname}:${target.port || 5432}`;
  try {
    // CREATE DATABASE takes no parameters: PostgreSQL quotes the name (format %I)
    const { statement } = await queryOne<{ statement: string }>(c, 'database-create-statement', [name]);
    await c.query(statement);
    return true;
  } catch (err) {
    if (sqlState(err) === SQLSTATE.duplicateDatabase) return false; // created meanwhile by another migrate
    throw new UnavailableError(`${how} and could not be created (${(err as Error).message}): run \`createdb -h ${target.hostname} -p ${target.port || 5432} ${name}\` as a role with CREATEDB, then \`shadowgate db migrate\` again`);
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Creates a LOGIN role (no password, not superuser, no BYPASSRLS) unless it exists; returns whether it did. */
export async function ensureRole(db: Queryable, role: string): Promise<boolean> {
  if ((await queryOne<{ exists: boolean }>(db, 'role-exists', [role])).exists) return false;
  const { statement } = await queryOne<{ statement: string }>(db, 'role-create-statement', [role]);
  try {
    await db.query(statement);
  } catch (err) {
    if (sqlState(err) === SQLSTATE.duplicateObject) return false; // created meanwhile
    if (sqlState(err) === SQLSTATE.insufficientPrivilege) throw new InputError(`cannot create role "${role}": ${(err as Error).message}`);
    throw err;
  }
  return true;
}
