import type { Queryable } from './pool.js';
import { queryOne, queryRows } from './sql.js';

/** A route by which rows of protected tables are reached without the policies or unrecorded. */
export interface Finding {
  kind: string;
  object: string;
  why: string;
  fix: string;
}

/** Every route (sql/migrations/005_reach.sql); the allowed roles and the role running it are none. */
export async function doctor(db: Queryable, allowRoles: readonly string[]): Promise<Finding[]> {
  return queryRows<Finding>(db, 'doctor', [allowRoles]);
}

/** What `doctor` finds, as one line. */
export const routesLine = (n: number) => `${n} route${n === 1 ? '' : 's'} around the policies or around recording`;

/** The warning line `report` and the dashboard show when `doctor` finds something (null: nothing). */
export async function doctorWarning(db: Queryable, allowRoles: readonly string[]): Promise<string | null> {
  const n = (await doctor(db, allowRoles)).length;
  return n ? `Warning: shadowgate doctor finds ${routesLine(n)} (run \`shadowgate doctor\`)` : null;
}

/**
 * Compares the catalog (grants, policies, RLS flags, owners of protected tables; roles reaching
 * them) with its saved copy; any change resets the shadow clock of every project in shadow, in
 * this transaction. Returns what changed.
 */
export async function driftCheck(db: Queryable, actor: string, at: Date): Promise<string[]> {
  return (await queryOne<{ changes: string[] }>(db, 'drift-check', [actor, at])).changes;
}
