// Drizzle ORM (node-postgres driver): declare the project first in Drizzle's own transaction.
import { sql } from 'drizzle-orm';
import type { NodePgDatabase } from 'drizzle-orm/node-postgres';

type DrizzleTx<S extends Record<string, unknown>> = Parameters<Parameters<NodePgDatabase<S>['transaction']>[0]>[0];

export function withProjectDrizzle<S extends Record<string, unknown>, T>(
  db: NodePgDatabase<S>,
  projectId: string,
  fn: (tx: DrizzleTx<S>) => Promise<T>,
): Promise<T> {
  return db.transaction(async (tx) => {
    await tx.execute(sql`SELECT shadowgate.set_project_context(${projectId})`);
    return fn(tx);
  });
}
