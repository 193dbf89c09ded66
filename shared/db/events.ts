import type { Queryable } from './pool.js';
import { execute, queryOne, queryRows } from './sql.js';

export interface EventRow {
  id: number;
  kind: string;
  project_id: string | null;
  payload: Record<string, unknown>;
  created_at: Date;
}

/**
 * Events of transactions that have all finished, after the producer's watermark. Returns them and
 * the new watermark; `advanceEvents` stores it once the jobs are enqueued (at-least-once; the
 * job ids make a replay a no-op).
 */
/** Events taken per round trip: a flood is drained in pages of this many. */
export const EVENTS_PAGE = 5000;

export async function pendingEvents(db: Queryable, limit = EVENTS_PAGE): Promise<{ events: EventRow[]; upTo: number }> {
  const { lo, hi } = await queryOne<{ lo: number; hi: number }>(db, 'events-watermark');
  const events = await queryRows<EventRow & { txid: number }>(db, 'events-page', [lo, hi, limit]);
  // a full page stops at the last whole transaction it holds
  const upTo = events.length === limit ? events[events.length - 1].txid : hi;
  return { events: events.length === limit ? events.filter((e) => e.txid < upTo) : events, upTo };
}

export async function advanceEvents(db: Queryable, upTo: number): Promise<void> {
  await execute(db, 'events-advance', [upTo]);
}
