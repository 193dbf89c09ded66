// shadowgate/client: what an application needs to run its queries as one project.
// Types only from pg: the application's own pg (and its type parsers) stay untouched.
import type pg from 'pg';

/** The statement every application transaction starts with (for ORMs: run it first in their transaction). */
export const SET_PROJECT_CONTEXT = 'SELECT shadowgate.set_project_context($1)';

/** Anything this module throws itself; `code` is the PostgreSQL SQLSTATE when there is one. */
export class ShadowgateClientError extends Error {
  readonly code?: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = (options?.cause as { code?: string } | undefined)?.code;
  }
}

/** The project id is not a non-empty string: nothing was sent to the database. */
export class InvalidProjectError extends ShadowgateClientError {}

/** The database has no shadowgate schema (run `shadowgate db migrate`). */
export class NotInstalledError extends ShadowgateClientError {}

/** The connecting role may not declare a project (run `shadowgate grant <role>`). */
export class NotGrantedError extends ShadowgateClientError {}

/**
 * A statement of the function was refused by a row-level security policy: the project is enforcing
 * and wrote (or read through RETURNING) a row it does not own. The transaction was rolled back.
 */
export class RowAccessDeniedError extends ShadowgateClientError {}

/** What withProject accepts: a pg Pool, a connected Client, or a client checked out of a pool. */
export type Database = pg.Pool | pg.ClientBase;

const sqlstate = (err: unknown) => (err as { code?: unknown } | null)?.code;

function contextError(err: unknown): unknown {
  const code = sqlstate(err);
  const msg = (err as Error).message;
  if (code === '3F000' || code === '42883') {
    return new NotInstalledError(`shadowgate is not installed in this database (${msg}): run \`shadowgate db migrate\``, { cause: err });
  }
  if (code === '42501') {
    return new NotGrantedError(`this role may not declare a project (${msg}): run \`shadowgate grant <role>\``, { cause: err });
  }
  return err;
}

function statementError(err: unknown): unknown {
  if (sqlstate(err) === '42501' && /row-level security/.test((err as Error).message)) {
    return new RowAccessDeniedError((err as Error).message, { cause: err });
  }
  return err;
}

const isPool = (db: Database): db is pg.Pool => typeof (db as pg.Pool).totalCount === 'number';

/**
 * Runs `fn` in one transaction with `projectId` declared: BEGIN, set_project_context, fn, COMMIT
 * (ROLLBACK when fn throws; its error is rethrown, as RowAccessDeniedError when a policy refused a
 * statement). A Pool lends one connection for the transaction; a Client must not be inside a
 * transaction already.
 */
export async function withProject<T>(db: Database, projectId: string, fn: (client: pg.ClientBase) => Promise<T>): Promise<T> {
  if (typeof projectId !== 'string' || projectId === '') {
    throw new InvalidProjectError(`project id must be a non-empty string, got ${JSON.stringify(projectId)}`);
  }
  const client = isPool(db) ? await db.connect() : db;
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    try {
      await client.query(SET_PROJECT_CONTEXT, [projectId]);
    } catch (err) {
      throw contextError(err);
    }
    let result: T;
    try {
      result = await fn(client);
    } catch (err) {
      throw statementError(err);
    }
    await client.query('COMMIT');
    return result;
  } catch (err) {
    // a connection that cannot even roll back is not given back to the pool
    await client.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw err;
  } finally {
    if (isPool(db)) (client as pg.PoolClient).release(broken);
  }
}
