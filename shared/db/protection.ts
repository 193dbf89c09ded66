import type { Queryable } from './pool.js';
import { execute, queryOne } from './sql.js';

/**
 * Puts the rollout policies on an application table and every partition of it (ENABLE + FORCE
 * RLS, every command); refuses system and shadowgate tables, views, unsupported column types,
 * columns no registered project id can match, tables the application role owns. Returns how many
 * tables it protected.
 */
export async function protectTable(db: Queryable, table: string, column = 'project_id'): Promise<number> {
  return (await queryOne<{ tables: number }>(db, 'table-protect', [table, column])).tables;
}

/** Gives an application role exactly what it needs on the protected tables, their schemas and sequences (after protectTable). */
export async function grantApp(db: Queryable, role: string): Promise<void> {
  await execute(db, 'app-grant', [role]);
}
