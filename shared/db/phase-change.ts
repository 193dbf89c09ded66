import type { Config } from '../config.js';
import { InputError, RefusedError } from '../errors.js';
import { decisionEvidence } from '../domain/decisions.js';
import { parsePhase, type Phase } from '../domain/phase.js';
import { judgePhaseChange } from '../domain/phase-policy.js';
import { withTransaction, type Pool } from './pool.js';
import { lockPhaseChanges, resetShadowClock, setPhase } from './phases.js';
import { driftCheck } from './doctor.js';
import { unknownProjects } from './projects.js';
import { absorbAndLoadStats } from './stats.js';

export interface PhaseChangeRequest {
  projectIds: string[];
  phase: string;
  at: Date;
  actor: string;
  reason?: string;
  force?: boolean;
}

export interface PhaseChangeResult {
  projectId: string;
  from: Phase;
  to: Phase;
  clockReset: boolean;
  forced: boolean;
}

/**
 * Moves every project of the request to the phase, or none: the checks (transition, eligibility,
 * rollout order) run first under one advisory lock, so two operators cannot interleave, with the
 * projects locked against concurrent clock resets. Absorbs the audit inbox first (eligibility
 * counts every would-be denial committed so far). Each move stores what was evaluated.
 */
export async function changePhase(pool: Pool, cfg: Config, req: PhaseChangeRequest): Promise<PhaseChangeResult[]> {
  const to = parsePhase(req.phase);
  if (req.force && !req.reason) throw new InputError('--force needs --reason (it is recorded in the history)');
  // role changes fire no event: compare the catalog first, committed on its own so that a refusal
  // below cannot roll the reset back, and again under the lock for a change made in between
  const checkedBy = `drift check before migrate by ${req.actor}`;
  await driftCheck(pool, checkedBy, req.at);
  return withTransaction(pool, async (c) => {
    await lockPhaseChanges(c, req.projectIds);
    await driftCheck(c, checkedBy, req.at);
    const all = await absorbAndLoadStats(c);
    const byId = new Map(all.map((s) => [s.projectId, s]));
    const unknown = req.projectIds.filter((id) => !byId.has(id));
    if (unknown.length) throw unknownProjects(unknown);
    const { problems, overridden, evaluations } = judgePhaseChange({ projectIds: req.projectIds, to, at: req.at, force: !!req.force }, byId, cfg);
    if (problems.length) throw new RefusedError(`${problems.join('; ')}${req.force ? '' : ' (nothing changed; --force --reason overrides eligibility and order)'}`);
    const results: PhaseChangeResult[] = [];
    for (const id of req.projectIds) {
      const s = byId.get(id)!;
      const from = s.phase;
      if (from === 'shadow' && to === 'shadow') {
        await resetShadowClock(c, id, req.at, req.actor, req.reason ?? 'shadow clock reset by operator');
        results.push({ projectId: id, from, to, clockReset: true, forced: false });
      } else {
        const evidence = decisionEvidence(s, evaluations.get(id)!, cfg.thresholds, req.at);
        await setPhase(c, id, to, req.at, req.actor, req.reason ?? null, overridden.has(id), evidence);
        results.push({ projectId: id, from, to, clockReset: false, forced: overridden.has(id) });
      }
    }
    return results;
  });
}
