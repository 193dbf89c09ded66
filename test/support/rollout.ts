import { loadConfig } from '../../shared/config.js';
import { changePhase } from '../../shared/db/phase-change.js';
import { absorbAudit } from '../../shared/db/intake.js';
import { loadStats } from '../../shared/db/stats.js';
import { fingerprints, review } from '../../shared/db/violations.js';
import { transactions } from '../../fixtures/traffic.js';
import type { TestDb } from './db.js';
import type { Queryable } from '../../shared/db/pool.js';
import { setPhase } from './seed.js';

/**
 * Named fixtures: the rollout states a test starts from, on the seed's projects and their `docs`
 * rows (test/support/seed.ts). Each builds its state in the test's own database.
 */

/** `p`'s stats as the product computes them, as `on` (a pool, or a transaction's client) sees them. */
export async function statsOf(on: Queryable, p: string) {
  return (await loadStats(on, [p]))[0]!;
}

/** The clock resets recorded for `p`, oldest first (nothing in the product lists them). */
export async function clockResets(on: Queryable, p: string): Promise<Array<{ actor: string; reason: string }>> {
  return (await on.query(`SELECT actor, reason FROM shadowgate.rls_phase_history WHERE project_id = $1 AND kind = 'clock_reset' ORDER BY id`, [p])).rows;
}

/** Enough transactions for the minimum (1000): the seed scenario's 1200. */
export const ELIGIBLE_TRANSACTIONS = 1200;

/** `project` in shadow since `since` (>= 7 days ago) with 1200 clean transactions (reads of its own rows): ELIGIBLE. */
export async function eligible(db: TestDb, project: string, since: Date): Promise<void> {
  await setPhase(db.pool, project, 'shadow', since);
  await transactions(db.app, project, ELIGIBLE_TRANSACTIONS, `SELECT count(*) FROM docs WHERE project_id = '${project}'`);
}

/** `project` in shadow since `since` with `n` transactions each reading every row of docs: would-be denials of every owner it may not read. */
export async function violating(db: TestDb, project: string, since: Date, n: number): Promise<void> {
  await setPhase(db.pool, project, 'shadow', since);
  await transactions(db.app, project, n, 'SELECT count(*) FROM docs');
}

/**
 * `project` enforcing after a shadow phase that began `since`: moved by the product's phase change
 * (its decision recorded with its evidence), forced past the exit criteria it need not meet here.
 */
export async function enforcing(db: TestDb, project: string, since: Date): Promise<void> {
  await setPhase(db.pool, project, 'shadow', since);
  await changePhase(db.pool, loadConfig({ DATABASE_URL: db.url }), {
    projectIds: [project], phase: 'enforcing', at: new Date(), actor: 'tester', force: true, reason: 'fixture: enforcing',
  });
}

/** Whether `project` is in shadow now. */
export async function isInShadow(db: TestDb, project: string): Promise<boolean> {
  return (await loadStats(db.pool, [project]))[0]?.phase === 'shadow';
}

/**
 * `project` in shadow (since `since`, unless it already is) with an unreviewed would-be denial now:
 * a read of `owner`'s rows. Returns the ids of its unreviewed fingerprints.
 */
export async function unreviewedViolations(db: TestDb, project: string, owner: string, since: Date): Promise<number[]> {
  if (!(await isInShadow(db, project))) await setPhase(db.pool, project, 'shadow', since);
  await transactions(db.app, project, 1, `SELECT count(*) FROM docs WHERE project_id = '${owner}'`);
  await absorbAudit(db.pool);
  return (await fingerprints(db.pool, project)).flatMap((f) => (f.open_since && f.id !== null ? [f.id] : []));
}

/** `project` in shadow with a fingerprint of `owner`'s rows reviewed as a false positive (with its ref and rationale); returns its id. */
export async function falsePositive(db: TestDb, project: string, owner: string, since: Date, ref: string, rationale: string): Promise<number> {
  const [id] = await unreviewedViolations(db, project, owner, since);
  if (id === undefined) throw new Error(`falsePositive: no would-be denial of ${owner}'s rows by ${project}`);
  await review(db.pool, { fingerprintIds: [id], resolution: 'false-positive', ref, rationale, actor: 'tester', at: new Date() });
  return id;
}
