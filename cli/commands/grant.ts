import type { Command } from 'commander';
import { InputError, SQLSTATE, sqlState } from '../../shared/errors.js';
import { withDb } from '../context.js';
import { ok } from '../output.js';

export function registerGrant(program: Command): void {
  program
    .command('grant <role>')
    .description('give an existing application role exactly what it needs: DML on protected tables, USAGE on their schemas and sequences (run after protect); not superuser, owner or BYPASSRLS')
    .option('--create-role', 'create the role first when it does not exist (LOGIN, no password: set one with ALTER ROLE … PASSWORD)')
    .action(async (role: string, o: { createRole?: boolean }) => {
      const { grantApp } = await import('../../shared/db/protection.js');
      const { ensureRole } = await import('../../shared/db/database.js');
      const created = await withDb(async (pool) => {
        const made = o.createRole ? await ensureRole(pool, role) : false;
        try {
          await grantApp(pool, role);
        } catch (err) {
          if (sqlState(err) === SQLSTATE.undefinedObject) throw new InputError(`role "${role}" does not exist: create it (CREATE ROLE "${role}" LOGIN PASSWORD '…') or run \`shadowgate grant ${role} --create-role\``);
          throw err;
        }
        return made;
      });
      if (created) console.log(ok(`created role ${role} (LOGIN, no password yet)`));
      console.log(ok(`${role} may use the protected tables through shadowgate.set_project_context()`));
    });
}
