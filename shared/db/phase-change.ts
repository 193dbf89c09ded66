import type { Config } from '../config.js';
import { InputError, TransitionRefusedError } from '../errors.js';
import { withTransaction, type Pool } from './pool.js';
import { currentStats } from './stats.js';
import { evaluateEligibility, PHASES, type Phase } from '../domain/eligibility.js';
import { orderBlockers, transitionError } from '../domain/transitions.js';

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

export function parsePhase(text: string): Phase {
  if (!(PHASES as readonly string[]).includes(text)) {
    throw new InputError(`unknown phase "${text}" (pending, shadow, enforcing or complete)`);
  }
  return text as Phase;
}

/**
 * Moves every project of the request to the phase, or none: the checks (transition, eligibility,
 * rollout order) run first under one advisory lock, so two operators cannot interleave.
 */
export async function changePhase(pool: Pool, cfg: Config, req: PhaseChangeRequest): Promise<PhaseChangeResult[]> {
  const to = parsePhase(req.phase);
  if (req.force && !req.reason) throw new InputError('--force needs --reason (it is recorded in the history)');
  return withTransaction(pool, async (c) => {
    await c.query(`SELECT pg_advisory_xact_lock(hashtext('shadowgate.phase-change'))`);
    const all = await currentStats(c);
    const byId = new Map(all.map((s) => [s.projectId, s]));
    const unknown = req.projectIds.filter((id) => !byId.has(id));
    if (unknown.length) throw new InputError(`unknown project${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `"${u}"`).join(', ')}`);
    const phases = new Map(all.map((s) => [s.projectId, s.phase]));
    const problems: string[] = [];
    for (const id of req.projectIds) {
      const s = byId.get(id)!;
      const illegal = transitionError(id, s.phase, to);
      if (illegal) {
        problems.push(illegal);
        continue;
      }
      if (s.phase === 'shadow' && to === 'enforcing' && !req.force) {
        const e = evaluateEligibility(s, cfg.thresholds, req.at, cfg.holidays);
        if (!e.eligible) problems.push(`${id} is not eligible for enforcing: ${e.reasons.join('; ')}`);
      }
      if (s.phase === 'pending' && to === 'shadow' && !req.force) {
        const blockers = orderBlockers(id, cfg.rolloutOrder, phases);
        if (blockers.length) {
          problems.push(`${id} may not enter shadow before ${blockers.join(', ')} ${blockers.length > 1 ? 'are' : 'is'} enforcing or complete (rollout order)`);
        }
      }
    }
    if (problems.length) throw new TransitionRefusedError(`${problems.join('; ')}${req.force ? '' : ' (nothing changed; --force --reason overrides eligibility and order)'}`);
    const results: PhaseChangeResult[] = [];
    for (const id of req.projectIds) {
      const from = byId.get(id)!.phase;
      if (from === 'shadow' && to === 'shadow') {
        await c.query('SELECT shadowgate.reset_shadow_clock($1, $2, $3, $4)', [id, req.at, req.actor, req.reason ?? 'shadow clock reset by operator']);
        results.push({ projectId: id, from, to, clockReset: true, forced: false });
      } else {
        await c.query('SELECT shadowgate.set_phase($1, $2, $3, $4, $5, $6)', [id, to, req.at, req.actor, req.reason ?? null, !!req.force]);
        results.push({ projectId: id, from, to, clockReset: false, forced: !!req.force });
      }
    }
    return results;
  });
}
