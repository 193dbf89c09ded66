import type { Command } from 'commander';
import { withDb } from '../context.js';
import { ok } from '../output.js';

export function registerProtect(program: Command): void {
  program
    .command('protect <table>')
    .description('put the rollout policies on an application table and all its partitions (ENABLE + FORCE RLS, SELECT/INSERT/UPDATE/DELETE); partitions created later are protected at once')
    .option('--column <name>', 'the column holding the owning project', 'project_id')
    .action(async (table: string, o) => {
      // a table, schema or column that is not there, or one shadowgate refuses (22023), is bad input (exit 2): see classifyError
      const { protectTable } = await import('../../shared/db/protection.js');
      const n = await withDb((pool) => protectTable(pool, table, o.column));
      console.log(ok(`${table} protected (column ${o.column}${n > 1 ? `, with ${n - 1} partition${n > 2 ? 's' : ''}` : ''})`));
      // PostgreSQL refuses COPY ... FROM on a table with row level security for every role the policies apply to
      console.log(`COPY ${table} FROM is refused by PostgreSQL from now on: load through a staging table (COPY into a TEMP table, then INSERT INTO ${table} SELECT ..., which the policies check); see docs/runbooks/shadow-monitoring.md`);
    });
}
