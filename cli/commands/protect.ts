import type { Command } from 'commander';
import { protectTable } from '../../shared/db/protection.js';
import { InputError } from '../../shared/errors.js';
import { withDb } from '../context.js';
import { ok } from '../output.js';

export function registerProtect(program: Command): void {
  program
    .command('protect <table>')
    .description('put the rollout policies on an application table and all its partitions (ENABLE + FORCE RLS, SELECT/INSERT/UPDATE/DELETE); partitions created later are protected at once')
    .option('--column <name>', 'the column holding the owning project', 'project_id')
    .action(async (table: string, o) => {
      const n = await withDb(async (pool) => {
        try {
          return await protectTable(pool, table, o.column);
        } catch (err) {
          const code = (err as { code?: string }).code;
          // 22023: refused by shadowgate.protect_refusal() (system or own table, view, type, ids, owner)
          if (code === '42P01' || code === '42703' || code === '42602' || code === '3F000' || code === '22023') throw new InputError((err as Error).message);
          throw err;
        }
      });
      console.log(ok(`${table} protected (column ${o.column}${n > 1 ? `, with ${n - 1} partition${n > 2 ? 's' : ''}` : ''})`));
      // PostgreSQL refuses COPY ... FROM on a table with row level security for every role the policies apply to
      console.log(`COPY ${table} FROM is refused by PostgreSQL from now on: load through a staging table (COPY into a TEMP table, then INSERT INTO ${table} SELECT ..., which the policies check); see docs/runbooks/shadow-monitoring.md`);
    });
}
