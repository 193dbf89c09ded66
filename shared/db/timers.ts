import type { Queryable } from './pool.js';
import { execute, queryFirst, queryOne, queryRows } from './sql.js';
import type { FingerprintWithLead } from './violations.js';

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
  const opened = await queryFirst<Timer>(db, 'timer-open', [kind, subject, projectId, openedAt, dueAt]);
  return opened ?? queryOne<Timer>(db, 'timer-find-open', [kind, subject]);
}

/** The open timer of a subject, if any. */
export async function findOpenTimer(db: Queryable, kind: Timer['kind'], subject: string): Promise<Timer | undefined> {
  return queryFirst<Timer>(db, 'timer-find-open', [kind, subject]);
}

/**
 * Opens an investigation for each unreviewed fingerprint among `fingerprintIds` that has none: due
 * `hours` after its first unreviewed occurrence (or after `now`, when the workers' clock is behind
 * the database's, as in the demo's replayed rollout). The workers' sweep fires it when due.
 */
export async function openInvestigations(db: Queryable, fingerprintIds: readonly number[], hours: number, now: Date): Promise<void> {
  await execute(db, 'timers-investigation-open', [fingerprintIds, hours, now]);
}

export async function getTimer(db: Queryable, id: number): Promise<Timer | undefined> {
  return queryFirst<Timer>(db, 'timer-get', [id]);
}

/**
 * Moves an open timer to its next due time, counting a firing when `fired`. Conditional on the
 * firing count the caller saw, so two copies of one wake-up cannot both act: undefined = lost.
 */
export async function rescheduleTimer(db: Queryable, t: Timer, dueAt: Date, fired: boolean): Promise<Timer | undefined> {
  return queryFirst<Timer>(db, 'timer-reschedule', [t.id, dueAt, fired ? 1 : 0, t.fired]);
}

export async function closeTimer(db: Queryable, id: number, at: Date): Promise<void> {
  await execute(db, 'timer-close', [id, at]);
}

export async function openTimers(db: Queryable): Promise<Timer[]> {
  return queryRows<Timer>(db, 'timers-open');
}

/** An open timer with what it is about (the fingerprint of an investigation), for the dashboard. */
export interface DescribedTimer {
  id: number;
  kind: Timer['kind'];
  project_id: string;
  opened_at: Date;
  due_at: Date;
  fired: number;
  fingerprint_id: number | null;
  table_name: string | null;
  operation: string | null;
  row_project_id: string | null;
  denied_reason: string | null;
  occurrences: number | null;
}

export async function describedOpenTimers(db: Queryable): Promise<DescribedTimer[]> {
  return queryRows<DescribedTimer>(db, 'timers-open-described');
}

/** A due investigation timer with its fingerprint (fingerprint fields null if it is gone). */
export interface DueInvestigation extends Omit<FingerprintWithLead, 'id' | 'project_id'> {
  timer_id: number;
  fired: number;
  due_at: Date;
  id: number | null;
  project_id: string | null;
}

/** Locks the open investigation timers among `ids` due at `now` (skipping those another worker holds). */
export async function lockDueInvestigations(db: Queryable, ids: readonly number[], now: Date): Promise<DueInvestigation[]> {
  return queryRows<DueInvestigation>(db, 'timers-investigation-due-lock', [ids, now]);
}

/** Counts a firing of each timer and makes it due again at `next`. */
export async function fireTimers(db: Queryable, ids: readonly number[], next: Date): Promise<void> {
  await execute(db, 'timers-fire', [ids, next]);
}

export async function closeTimers(db: Queryable, ids: readonly number[], at: Date): Promise<void> {
  await execute(db, 'timers-close-many', [ids, at]);
}
