import type { Command } from 'commander';
import { ok } from '../output.js';

export function registerDb(program: Command): void {
  const db = program.command('db').description('the shadowgate schema');
  db.command('migrate')
    .description('create the database of DATABASE_URL when missing, then apply pending schema migrations (each once, under an advisory lock; running it again is a no-op)')
    .action(async () => {
      const { loadConfig } = await import('../../shared/config.js');
      const { databaseUrl } = loadConfig();
      const { ensureDatabase } = await import('../../shared/db/database.js');
      const { migrateSchema } = await import('../../shared/db/schema-migration.js');
      const { describeUrl } = await import('../../shared/db/pool.js');
      if (await ensureDatabase(databaseUrl)) console.log(ok(`created database ${describeUrl(databaseUrl)}`));
      const applied = await migrateSchema(databaseUrl);
      console.log(applied.length ? ok(`applied ${applied.join(', ')}`) : ok('schema up to date'));
    });
}
