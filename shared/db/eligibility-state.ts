import type { Queryable } from './pool.js';
import { queryOne } from './sql.js';

/** Stores a project's eligibility; returns what it was before (null the first time). */
export async function storeEligibility(db: Queryable, projectId: string, eligible: boolean, reasons: readonly string[], at: Date): Promise<boolean | null> {
  return (await queryOne<{ prev: boolean | null }>(db, 'eligibility-state-store', [projectId, eligible, JSON.stringify(reasons), at])).prev;
}
