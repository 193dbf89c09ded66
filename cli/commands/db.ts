import type { Command } from 'commander';
import { loadConfig } from '../../shared/config.js';
import { migrateSchema } from '../../shared/db/schema-migration.js';
import { ok } from '../output.js';

export function registerDb(program: Command): void {
  const db = program.command('db').description('the shadowgate schema');
  db.command('migrate')
    .description('apply pending schema migrations (each once, under an advisory lock; running it again is a no-op)')
    .action(async () => {
      const applied = await migrateSchema(loadConfig().databaseUrl);
      console.log(applied.length ? ok(`applied ${applied.join(', ')}`) : ok('schema up to date'));
    });
}
