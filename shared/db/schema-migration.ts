import { runner } from 'node-pg-migrate';
import { sqlDir } from '../paths.js';
import { describeUrl } from './pool.js';
import { isUnreachable, UnavailableError } from '../errors.js';

/**
 * Applies the versioned migrations of sql/migrations in order, each once, in one transaction,
 * under node-pg-migrate's advisory lock (a second runner waits). Returns the names applied.
 */
export async function migrateSchema(databaseUrl: string): Promise<string[]> {
  try {
    const applied = await runner({
      databaseUrl,
      dir: sqlDir('migrations'),
      direction: 'up',
      migrationsTable: 'schema_migrations',
      migrationsSchema: 'shadowgate',
      schema: 'shadowgate',
      createSchema: true,
      createMigrationsSchema: true,
      singleTransaction: true,
      checkOrder: true,
      advisoryLockMode: 'wait',
      log: () => undefined,
    });
    return applied.map((m) => m.name);
  } catch (err) {
    if (isUnreachable(err)) throw new UnavailableError(`cannot reach PostgreSQL at ${describeUrl(databaseUrl)}: ${(err as Error).message}`);
    throw err;
  }
}
