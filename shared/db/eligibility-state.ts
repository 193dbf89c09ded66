import type { Queryable } from './pool.js';
import { queryOne } from './sql.js';

/**
 * Stores a project's eligibility with the shadow window it belongs to (null outside shadow) and
 * since when it has been eligible in that window without a break. Returns what it was before in
 * the same window (null the first time or in a new window) and the eligible-since moment.
 */
export async function storeEligibility(
  db: Queryable, projectId: string, eligible: boolean, reasons: readonly string[], at: Date, window: Date | null,
): Promise<{ prev: boolean | null; eligibleSince: Date | null }> {
  const r = await queryOne<{ prev: boolean | null; prev_window: Date | null; eligible_since: Date | null }>(
    db, 'eligibility-state-store', [projectId, eligible, JSON.stringify(reasons), at, window]);
  return { prev: r.prev_window?.getTime() === window?.getTime() ? r.prev : null, eligibleSince: r.eligible_since };
}
