import { readFileSync } from 'node:fs';
import type { QueryResultRow } from 'pg';
import { sqlDir } from '../paths.js';
import type { Queryable } from './pool.js';

const cache = new Map<string, string>();

/** The text of sql/queries/<name>.sql: every statement the product runs stands there, by name. */
function statement(name: string): string {
  let text = cache.get(name);
  if (text === undefined) {
    text = readFileSync(sqlDir('queries', `${name}.sql`), 'utf8');
    cache.set(name, text);
  }
  return text;
}

/** A row nobody described: its columns are `unknown` until the caller names the row type. */
type Untyped = Record<string, unknown>;

/** The rows of sql/queries/<name>.sql run with bound parameters. */
export async function queryRows<R extends QueryResultRow = Untyped>(db: Queryable, name: string, params: unknown[] = []): Promise<R[]> {
  return (await db.query<R>(statement(name), params)).rows;
}

/** The first row, or undefined when there is none. */
export async function queryFirst<R extends QueryResultRow = Untyped>(db: Queryable, name: string, params: unknown[] = []): Promise<R | undefined> {
  return (await queryRows<R>(db, name, params))[0];
}

/** The one row a statement always returns (a function call, an aggregate, RETURNING of a plain INSERT). */
export async function queryOne<R extends QueryResultRow = Untyped>(db: Queryable, name: string, params: unknown[] = []): Promise<R> {
  const row = await queryFirst<R>(db, name, params);
  if (row === undefined) throw new Error(`sql/queries/${name}.sql returned no row`);
  return row;
}

/** Runs a statement whose rows nobody reads; returns how many rows it touched. */
export async function execute(db: Queryable, name: string, params: unknown[] = []): Promise<number> {
  return (await db.query(statement(name), params)).rowCount ?? 0;
}
