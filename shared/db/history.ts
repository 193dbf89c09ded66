import type { DecisionRecord } from '../domain/decisions.js';
import type { Queryable } from './pool.js';
import { queryRows } from './sql.js';

/** Every phase decision with its stored evidence, by project, oldest first. */
export async function decisionHistory(db: Queryable): Promise<DecisionRecord[]> {
  return queryRows<DecisionRecord>(db, 'decision-history');
}

/** The dedupe key of a forced phase change's announcement: one per history row. */
export const forcedMoveKey = (historyId: number) => `forced:${historyId}`;

/** Forced phase changes of a project not announced yet (no notification under forcedMoveKey()). */
export async function unannouncedForcedMoves(db: Queryable, projectId: string): Promise<DecisionRecord[]> {
  return queryRows<DecisionRecord>(db, 'decisions-forced-unannounced', [projectId]);
}
