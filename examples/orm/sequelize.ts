// Sequelize (dialect 'postgres'): declare the project first in a managed transaction. Pass
// `{ transaction: t }` to every query inside, or the query runs on another connection, without it.
import type { Sequelize, Transaction } from 'sequelize';

export function withProjectSequelize<T>(sequelize: Sequelize, projectId: string, fn: (t: Transaction) => Promise<T>): Promise<T> {
  return sequelize.transaction(async (t) => {
    await sequelize.query('SELECT shadowgate.set_project_context(:projectId)', { replacements: { projectId }, transaction: t });
    return fn(t);
  });
}
