import type { Command } from 'commander';
import { loadConfig } from '../../shared/config.js';
import { migrateDatabase } from '../../shared/db/schema-migration.js';
import { InputError } from '../../shared/errors.js';
import { withDb } from '../context.js';
import { ok } from '../output.js';

export function registerDb(program: Command): void {
  const db = program.command('db').description('the shadowgate schema');
  db.command('migrate')
    .description('apply pending migrations (each once, under an advisory lock; running it again is a no-op)')
    .action(async () => {
      const applied = await migrateDatabase(loadConfig().databaseUrl);
      console.log(applied.length ? ok(`applied ${applied.join(', ')}`) : ok('schema up to date'));
    });

  program
    .command('protect <table>')
    .description('put the rollout policies on an application table (ENABLE + FORCE RLS, SELECT/INSERT/UPDATE/DELETE)')
    .option('--column <name>', 'the column holding the owning project', 'project_id')
    .action(async (table: string, o) => {
      await withDb(async (pool) => {
        try {
          await pool.query('SELECT shadowgate.protect($1::regclass, $2)', [table, o.column]);
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code === '42P01' || code === '42703' || code === '42602') throw new InputError((err as Error).message);
          throw err;
        }
      });
      console.log(ok(`${table} protected (column ${o.column})`));
    });

  program
    .command('grant <role>')
    .description('give an application role exactly what it needs (run after protect)')
    .action(async (role: string) => {
      await withDb(async (pool) => {
        try {
          await pool.query('SELECT shadowgate.grant_app($1)', [role]);
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code === '42704' || code === '42501') throw new InputError((err as Error).message);
          throw err;
        }
      });
      console.log(ok(`${role} may use the protected tables through shadowgate.set_project_context()`));
    });
}
