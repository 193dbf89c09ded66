import type { Queryable } from './pool.js';
import { queryOne } from './sql.js';

/**
 * The intake step: empties the audit inbox into the audit log and the violation counters (cheap
 * when empty). Returns the number of violation events it emitted. Every read that must include the
 * would-be denials committed so far calls this first, and says so in its name (absorbAnd…).
 */
export async function absorbAudit(db: Queryable): Promise<number> {
  return (await queryOne<{ events: number }>(db, 'audit-absorb')).events;
}
