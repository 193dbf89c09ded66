import type { Queryable } from './pool.js';
import { queryOne } from './sql.js';

/**
 * The intake step: empties the audit inbox into the audit log and the violation counters (cheap
 * when empty). Returns the number of violation events it emitted. Every read that must include the
 * would-be denials committed so far calls this first, and says so in its name (absorbAnd…).
 * What it cannot absorb (a forged key, a row that raises) goes to shadowgate.audit_quarantine.
 */
export async function absorbAudit(db: Queryable): Promise<number> {
  return (await queryOne<{ events: number }>(db, 'audit-absorb')).events;
}

/** shadowgate.audit_quarantine at a glance: how many rows, the newest one's time and error. */
export interface QuarantineSummary {
  rows: number;
  newest_at: Date | null;
  newest_error: string | null;
}

export async function quarantineSummary(db: Queryable): Promise<QuarantineSummary> {
  return queryOne<QuarantineSummary>(db, 'audit-quarantine-summary');
}

/** One line for status and the dashboard (null: nothing quarantined). */
export function quarantineWarning(q: QuarantineSummary): string | null {
  if (!q.rows) return null;
  return `Quarantine: ${q.rows} audit inbox row${q.rows === 1 ? '' : 's'} could not be absorbed `
    + `(newest ${q.newest_at?.toISOString()}: ${(q.newest_error ?? '').slice(0, 200)}); see shadowgate.audit_quarantine`;
}
