import type { Queryable } from './pool.js';
import { queryOne } from './sql.js';

/**
 * Stores a project's eligibility with the shadow window it belongs to (null outside shadow) and,
 * when not eligible, the moment it was seen so. Returns what it was before in the same window (null
 * the first time or in a new window).
 */
export async function storeEligibility(
  db: Queryable, projectId: string, eligible: boolean, reasons: readonly string[], at: Date, window: Date | null,
): Promise<boolean | null> {
  const r = await queryOne<{ prev: boolean | null; prev_window: Date | null }>(
    db, 'eligibility-state-store', [projectId, eligible, JSON.stringify(reasons), at, window]);
  return r.prev_window?.getTime() === window?.getTime() ? r.prev : null;
}
