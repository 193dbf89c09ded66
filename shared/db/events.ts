import type { Queryable } from './pool.js';
import { execute, queryOne, queryRows } from './sql.js';

export interface EventRow {
  id: number;
  txid: number;
  kind: string;
  project_id: string | null;
  payload: Record<string, unknown>;
  created_at: Date;
}

/** Events taken per round trip: a flood is drained in pages of this many. */
export const EVENTS_PAGE = 5000;

/**
 * Where the producer stands (sql/migrations/006_pipeline.sql): the snapshot `done` up to which
 * every event has been taken, the batch in progress (`target`, NULL between batches), the last
 * (txid, id) of it taken, and the batch's number.
 */
export interface EventPosition {
  done: string;
  target: string | null;
  after_txid: number | null;
  after_id: number | null;
  batch: number;
}

/** The position, locked until the caller's transaction ends (one producer moves it at a time). */
export async function lockEventPosition(db: Queryable): Promise<EventPosition> {
  return queryOne<EventPosition>(db, 'events-position');
}

/** Starts a batch: every transaction committed by now and not yet taken. Returns its target snapshot. */
export async function beginBatch(db: Queryable): Promise<string> {
  return (await queryOne<{ target: string }>(db, 'events-batch-begin')).target;
}

/** The next page of the batch in progress, in (txid, id) order: a page never repeats, however big one transaction is. */
export async function batchPage(db: Queryable, pos: EventPosition & { target: string }, limit = EVENTS_PAGE): Promise<EventRow[]> {
  return queryRows<EventRow>(db, 'events-batch-page', [pos.done, pos.target, pos.after_txid ?? 0, pos.after_id ?? 0, limit]);
}

/** The batch in progress was taken up to `last`. */
export async function batchProgress(db: Queryable, last: EventRow): Promise<void> {
  await execute(db, 'events-batch-progress', [last.txid, last.id]);
}

/** The batch in progress was taken entirely. */
export async function endBatch(db: Queryable): Promise<void> {
  await execute(db, 'events-batch-end');
}
