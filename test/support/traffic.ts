import type { Pool } from '../../shared/db/pool.js';

/** `n` application transactions of a project, each starting with set_project_context. */
export async function transactions(app: Pool, project: string, n: number, statement?: string): Promise<void> {
  const c = await app.connect();
  try {
    for (let i = 0; i < n; i++) {
      await c.query('BEGIN');
      await c.query('SELECT shadowgate.set_project_context($1)', [project]);
      if (statement) await c.query(statement);
      await c.query('COMMIT');
    }
  } finally {
    c.release();
  }
}
