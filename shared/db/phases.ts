import type { DecisionEvidence } from '../domain/decisions.js';
import type { Phase } from '../domain/phase.js';
import type { Queryable } from './pool.js';
import { execute, queryOne, queryRows } from './sql.js';

/**
 * Serialises phase changes until the caller's transaction ends and locks the projects against
 * concurrent clock resets (shadowgate.lock_phase_change()).
 */
export async function lockPhaseChanges(db: Queryable, projectIds: readonly string[]): Promise<void> {
  await execute(db, 'phase-change-lock', [projectIds]);
}

/** shadowgate.set_phase(): the phase, its history row with the evidence of the decision, its event. */
export async function setPhase(
  db: Queryable, projectId: string, phase: Phase, at: Date, actor: string, reason: string | null, forced: boolean,
  evidence: DecisionEvidence | null = null,
): Promise<void> {
  await execute(db, 'phase-set', [projectId, phase, at, actor, reason, forced, evidence]);
}

/** Restarts the shadow clock of a project in shadow; false when it is not in shadow. */
export async function resetShadowClock(db: Queryable, projectId: string, at: Date, actor: string, reason: string): Promise<boolean> {
  return (await queryOne<{ reset: boolean }>(db, 'shadow-clock-reset', [projectId, at, actor, reason])).reset;
}

export async function projectsInPhase(db: Queryable, phase: Phase): Promise<string[]> {
  return (await queryRows<{ project_id: string }>(db, 'projects-in-phase', [phase])).map((r) => r.project_id);
}
