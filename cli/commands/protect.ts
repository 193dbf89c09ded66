import type { Command } from 'commander';
import { protectTable } from '../../shared/db/protection.js';
import { InputError } from '../../shared/errors.js';
import { withDb } from '../context.js';
import { ok } from '../output.js';

export function registerProtect(program: Command): void {
  program
    .command('protect <table>')
    .description('put the rollout policies on an application table (ENABLE + FORCE RLS, SELECT/INSERT/UPDATE/DELETE)')
    .option('--column <name>', 'the column holding the owning project', 'project_id')
    .action(async (table: string, o) => {
      await withDb(async (pool) => {
        try {
          await protectTable(pool, table, o.column);
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code === '42P01' || code === '42703' || code === '42602') throw new InputError((err as Error).message);
          throw err;
        }
      });
      console.log(ok(`${table} protected (column ${o.column})`));
    });
}
