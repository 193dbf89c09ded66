// Knex (client 'pg'): declare the project first in Knex's own transaction.
import type { Knex } from 'knex';

export function withProjectKnex<T>(knex: Knex, projectId: string, fn: (trx: Knex.Transaction) => Promise<T>): Promise<T> {
  return knex.transaction(async (trx) => {
    await trx.raw('SELECT shadowgate.set_project_context(?)', [projectId]);
    return fn(trx);
  });
}
