import type { Queryable } from './pool.js';

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
export async function pendingEvents(db: Queryable, limit = 5000): Promise<{ events: EventRow[]; upTo: number }> {
  const { rows } = await db.query<{ lo: number; hi: number }>(
    `SELECT txid AS lo, txid_snapshot_xmin(txid_current_snapshot()) AS hi FROM shadowgate.watermarks WHERE name = 'events'`);
  const { lo, hi } = rows[0];
  const events = (await db.query<EventRow & { txid: number }>(
    `SELECT id, txid, kind, project_id, payload, created_at FROM shadowgate.events
      WHERE txid >= $1 AND txid < $2 ORDER BY txid, id LIMIT $3`, [lo, hi, limit])).rows;
  // a full page stops at the last whole transaction it holds
  const upTo = events.length === limit ? events[events.length - 1].txid : hi;
  return { events: events.length === limit ? events.filter((e) => e.txid < upTo) : events, upTo };
}

export async function advanceEvents(db: Queryable, upTo: number): Promise<void> {
  await db.query(`UPDATE shadowgate.watermarks SET txid = greatest(txid, $1) WHERE name = 'events'`, [upTo]);
}
