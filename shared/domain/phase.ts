import { InputError } from '../errors.js';

/** Where a project stands in the rollout. */
export type Phase = 'pending' | 'shadow' | 'enforcing' | 'complete';
export const PHASES: readonly Phase[] = ['pending', 'shadow', 'enforcing', 'complete'];

/** What a project reads: its own rows, also those of projects it is permitted, or everything. */
export type AccessLevel = 'isolated' | 'shared' | 'super';
export const ACCESS_LEVELS: readonly AccessLevel[] = ['isolated', 'shared', 'super'];

export function parsePhase(text: string): Phase {
  if (!(PHASES as readonly string[]).includes(text)) {
    throw new InputError(`unknown phase "${text}" (pending, shadow, enforcing or complete)`);
  }
  return text as Phase;
}
