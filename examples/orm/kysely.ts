// Kysely (PostgresDialect on a pg Pool): declare the project first in Kysely's own transaction.
import { sql, type Kysely, type Transaction } from 'kysely';

export function withProjectKysely<DB, T>(db: Kysely<DB>, projectId: string, fn: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
  return db.transaction().execute(async (trx) => {
    await sql`SELECT shadowgate.set_project_context(${projectId})`.execute(trx);
    return fn(trx);
  });
}
