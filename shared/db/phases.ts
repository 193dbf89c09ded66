import type { Phase } from '../domain/phase.js';
import type { Queryable } from './pool.js';
import { execute, queryOne, queryRows } from './sql.js';

/** Serialises phase changes until the caller's transaction ends. */
export async function lockPhaseChanges(db: Queryable): Promise<void> {
  await execute(db, 'phase-change-lock');
}

/** shadowgate.set_phase(): the phase, its history row and its event. */
export async function setPhase(
  db: Queryable, projectId: string, phase: Phase, at: Date, actor: string, reason: string | null, forced: boolean,
): Promise<void> {
  await execute(db, 'phase-set', [projectId, phase, at, actor, reason, forced]);
}

/** Restarts the shadow clock of a project in shadow; false when it is not in shadow. */
export async function resetShadowClock(db: Queryable, projectId: string, at: Date, actor: string, reason: string): Promise<boolean> {
  return (await queryOne<{ reset: boolean }>(db, 'shadow-clock-reset', [projectId, at, actor, reason])).reset;
}

/** Whether the history already holds a clock reset (or phase change) of the project for this reason. */
export async function clockResetRecorded(db: Queryable, projectId: string, reason: string): Promise<boolean> {
  return (await execute(db, 'shadow-clock-reset-recorded', [projectId, reason])) > 0;
}

export async function projectsInPhase(db: Queryable, phase: Phase): Promise<string[]> {
  return (await queryRows<{ project_id: string }>(db, 'projects-in-phase', [phase])).map((r) => r.project_id);
}
