import type { Queryable } from './pool.js';
import { execute } from './sql.js';

/** Puts the rollout policies on an application table (ENABLE + FORCE RLS, every command). */
export async function protectTable(db: Queryable, table: string, column = 'project_id'): Promise<void> {
  await execute(db, 'table-protect', [table, column]);
}

/** Gives an application role exactly what it needs on the protected tables (after protectTable). */
export async function grantApp(db: Queryable, role: string): Promise<void> {
  await execute(db, 'app-grant', [role]);
}
