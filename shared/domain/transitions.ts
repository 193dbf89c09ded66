import type { Phase } from './phase.js';

const ALLOWED: Record<Phase, readonly Phase[]> = {
  pending: ['shadow'],
  shadow: ['enforcing', 'pending', 'shadow'], // shadow -> shadow resets the shadow clock
  enforcing: ['complete', 'shadow'],
  complete: [],
};

/** null when allowed, otherwise why not. */
export function transitionError(projectId: string, from: Phase, to: Phase): string | null {
  if (ALLOWED[from].includes(to)) return null;
  const allowed = ALLOWED[from].filter((p) => p !== from);
  return `illegal transition for ${projectId}: ${from} -> ${to} (allowed from ${from}: ${allowed.length ? allowed.join(', ') : 'none'})`;
}

/**
 * Projects that block `projectId` from entering shadow: those of earlier batches of the rollout
 * order that are not yet enforcing or complete. A project outside the order is not constrained.
 */
export function orderBlockers(projectId: string, order: readonly string[][], phases: ReadonlyMap<string, Phase>): string[] {
  const batch = order.findIndex((b) => b.includes(projectId));
  if (batch <= 0) return [];
  return order
    .slice(0, batch)
    .flat()
    .filter((id) => {
      const ph = phases.get(id);
      return ph !== undefined && ph !== 'enforcing' && ph !== 'complete';
    });
}
