import type { Command } from 'commander';
import { grantApp } from '../../shared/db/protection.js';
import { withDb } from '../context.js';
import { ok } from '../output.js';

export function registerGrant(program: Command): void {
  program
    .command('grant <role>')
    .description('give an application role exactly what it needs: DML on protected tables, USAGE on their schemas and sequences (run after protect)')
    .action(async (role: string) => {
      // a role that is not there, or may not be granted, is bad input (exit 2): see classifyError
      await withDb((pool) => grantApp(pool, role));
      console.log(ok(`${role} may use the protected tables through shadowgate.set_project_context()`));
    });
}
