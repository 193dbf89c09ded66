import type { Command } from 'commander';
import { grantApp } from '../../shared/db/protection.js';
import { InputError } from '../../shared/errors.js';
import { withDb } from '../context.js';
import { ok } from '../output.js';

export function registerGrant(program: Command): void {
  program
    .command('grant <role>')
    .description('give an application role exactly what it needs: DML on protected tables, USAGE on their schemas and sequences (run after protect)')
    .action(async (role: string) => {
      await withDb(async (pool) => {
        try {
          await grantApp(pool, role);
        } catch (err) {
          const code = (err as { code?: string }).code;
          if (code === '42704' || code === '42501') throw new InputError((err as Error).message);
          throw err;
        }
      });
      console.log(ok(`${role} may use the protected tables through shadowgate.set_project_context()`));
    });
}
