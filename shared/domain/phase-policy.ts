import type { Config } from '../config.js';
import { evaluateEligibility, type ProjectStats } from './eligibility.js';
import type { Phase } from './phase.js';
import { orderBlockers, transitionError } from './transitions.js';

export interface PhaseChangeCheck {
  projectIds: readonly string[];
  to: Phase;
  at: Date;
  force: boolean;
}

/**
 * Why a phase change may not happen (empty: it may): an illegal transition always; not eligible for
 * enforcing, or an earlier rollout batch not yet enforcing, unless forced. Pure; `byId` holds every
 * project (the rollout order looks at the others).
 */
export function phaseChangeProblems(req: PhaseChangeCheck, byId: ReadonlyMap<string, ProjectStats>, cfg: Config): string[] {
  const phases = new Map([...byId.values()].map((s) => [s.projectId, s.phase]));
  const problems: string[] = [];
  for (const id of req.projectIds) {
    const s = byId.get(id);
    if (!s) throw new Error(`phaseChangeProblems: no stats for ${id}`);
    const illegal = transitionError(id, s.phase, req.to);
    if (illegal) {
      problems.push(illegal);
      continue;
    }
    if (s.phase === 'shadow' && req.to === 'enforcing' && !req.force) {
      const e = evaluateEligibility(s, cfg.thresholds, req.at, cfg.holidays);
      if (!e.eligible) problems.push(`${id} is not eligible for enforcing: ${e.reasons.join('; ')}`);
    }
    if (s.phase === 'pending' && req.to === 'shadow' && !req.force) {
      const blockers = orderBlockers(id, cfg.rolloutOrder, phases);
      if (blockers.length) {
        problems.push(`${id} may not enter shadow before ${blockers.join(', ')} ${blockers.length > 1 ? 'are' : 'is'} enforcing or complete (rollout order)`);
      }
    }
  }
  return problems;
}
