import type { Queryable } from './pool.js';

export interface Timer {
  id: number;
  kind: 'investigation' | 'lingering';
  subject: string;
  project_id: string;
  opened_at: Date;
  due_at: Date;
  fired: number;
  closed_at: Date | null;
}

/** Opens a timer unless one is open for the same subject; returns the open one. */
export async function openTimer(db: Queryable, kind: Timer['kind'], subject: string, projectId: string, openedAt: Date, dueAt: Date): Promise<Timer> {
  const ins = await db.query<Timer>(
    `INSERT INTO shadowgate.timers (kind, subject, project_id, opened_at, due_at) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (kind, subject) WHERE closed_at IS NULL DO NOTHING RETURNING *`,
    [kind, subject, projectId, openedAt, dueAt]);
  if (ins.rows[0]) return ins.rows[0];
  return (await db.query<Timer>(`SELECT * FROM shadowgate.timers WHERE kind = $1 AND subject = $2 AND closed_at IS NULL`, [kind, subject])).rows[0];
}

/**
 * The open investigation timers of the given fingerprints, opening those still missing: each is due
 * `hours` after the fingerprint's first unreviewed occurrence (or after `now`, when the workers'
 * clock is behind the database's, as in the demo's replayed rollout).
 */
export async function investigationTimers(db: Queryable, fingerprintIds: readonly number[], hours: number, now: Date): Promise<Timer[]> {
  await db.query(
    `INSERT INTO shadowgate.timers (kind, subject, project_id, opened_at, due_at)
     SELECT 'investigation', v.id::text, v.project_id, least(v.open_since, $3), least(v.open_since, $3) + $2 * interval '1 hour'
       FROM shadowgate.violation_fingerprints v
      WHERE v.id = ANY ($1) AND v.open_since IS NOT NULL
     ON CONFLICT (kind, subject) WHERE closed_at IS NULL DO NOTHING`, [fingerprintIds, hours, now]);
  return (await db.query<Timer>(
    `SELECT * FROM shadowgate.timers WHERE kind = 'investigation' AND closed_at IS NULL AND subject = ANY ($1::bigint[]::text[])`,
    [fingerprintIds])).rows;
}

export async function getTimer(db: Queryable, id: number): Promise<Timer | undefined> {
  return (await db.query<Timer>('SELECT * FROM shadowgate.timers WHERE id = $1', [id])).rows[0];
}

/**
 * Moves an open timer to its next due time, counting a firing when `fired`. Conditional on the
 * firing count the caller saw, so two copies of one wake-up cannot both act: undefined = lost.
 */
export async function rescheduleTimer(db: Queryable, t: Timer, dueAt: Date, fired: boolean): Promise<Timer | undefined> {
  return (await db.query<Timer>(
    `UPDATE shadowgate.timers SET due_at = $2, fired = fired + $3
      WHERE id = $1 AND fired = $4 AND closed_at IS NULL RETURNING *`, [t.id, dueAt, fired ? 1 : 0, t.fired])).rows[0];
}

export async function closeTimer(db: Queryable, id: number, at: Date): Promise<void> {
  await db.query('UPDATE shadowgate.timers SET closed_at = $2 WHERE id = $1 AND closed_at IS NULL', [id, at]);
}

export async function openTimers(db: Queryable): Promise<Timer[]> {
  return (await db.query<Timer>('SELECT * FROM shadowgate.timers WHERE closed_at IS NULL ORDER BY due_at')).rows;
}
