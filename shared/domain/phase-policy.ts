import type { Config } from '../config.js';
import { evaluateEligibility, type Eligibility, type ProjectStats } from './eligibility.js';
import type { Phase } from './phase.js';
import { orderBlockers, transitionError } from './transitions.js';

export interface PhaseChangeCheck {
  projectIds: readonly string[];
  to: Phase;
  at: Date;
  force: boolean;
}

export interface PhaseChangeVerdict {
  /** why the change may not happen (empty: it may) */
  problems: string[];
  /** the projects whose move overrides a rule (allowed by force): recorded and announced as forced */
  overridden: Set<string>;
  /** every project's eligibility at the time of the change (the evidence of the decision) */
  evaluations: Map<string, Eligibility>;
}

/**
 * Judges a phase change: an illegal transition is always a problem; not eligible for enforcing, or
 * an earlier rollout batch not yet enforcing, is one unless forced (then the move is overridden).
 * Pure; `byId` holds every project (the rollout order looks at the others).
 */
export function judgePhaseChange(req: PhaseChangeCheck, byId: ReadonlyMap<string, ProjectStats>, cfg: Config): PhaseChangeVerdict {
  const phases = new Map([...byId.values()].map((s) => [s.projectId, s.phase]));
  const evaluations = new Map([...byId.values()].map((s) => [s.projectId, evaluateEligibility(s, cfg.thresholds, req.at, cfg.calendar)]));
  const problems: string[] = [];
  const overridden = new Set<string>();
  for (const id of req.projectIds) {
    const s = byId.get(id);
    if (!s) throw new Error(`judgePhaseChange: no stats for ${id}`);
    const illegal = transitionError(id, s.phase, req.to);
    if (illegal) {
      problems.push(illegal);
      continue;
    }
    const ruled: string[] = [];
    if (s.phase === 'shadow' && req.to === 'enforcing') {
      const e = evaluations.get(id)!;
      if (!e.eligible) ruled.push(`${id} is not eligible for enforcing: ${e.reasons.join('; ')}`);
    }
    if (s.phase === 'pending' && req.to === 'shadow') {
      const blockers = orderBlockers(id, cfg.rolloutOrder, phases);
      if (blockers.length) {
        ruled.push(`${id} may not enter shadow before ${blockers.join(', ')} ${blockers.length > 1 ? 'are' : 'is'} enforcing or complete (rollout order)`);
      }
    }
    if (ruled.length && req.force) overridden.add(id);
    else problems.push(...ruled);
  }
  return { problems, overridden, evaluations };
}
