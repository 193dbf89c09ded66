import { DAY } from '../clock.js';
import type { Thresholds } from '../config.js';
import { addBusinessDays } from './business-days.js';
import type { AccessLevel, Phase } from './phase.js';


/** What the database knows of one project, as loaded by shared/db/stats.ts. */
export interface ProjectStats {
  projectId: string;
  accessLevel: AccessLevel;
  legacyOwner: boolean;
  /** per-project override of the minimum shadow duration */
  minShadowDays: number | null;
  phase: Phase;
  updatedAt: Date;
  shadowStartedAt: Date | null;
  transactions: number;
  /** would-be denied row accesses since the shadow clock started */
  violations: number;
  /** ... of those, not documented as false positives */
  unresolved: number;
  /** fingerprints with an occurrence no review covers */
  unreviewedFingerprints: number;
  fingerprints: number;
}

export interface Criterion {
  name: 'duration' | 'transactions' | 'violations' | 'review';
  met: boolean;
  line: string;
  /** for a time criterion not met yet: the earliest moment it will be */
  metAt?: Date;
}

type Action = 'move to enforcing' | 'investigate violations' | 'continue monitoring';

/** What to do; past the maximum shadow duration (configurable, 14 days by default) it is URGENT. */
export type Recommendation = 'proceed to enforcing' | 'continue monitoring' | 'investigate violations' | `URGENT: past ${number} days, ${Action}`;

export interface Eligibility {
  projectId: string;
  eligible: boolean;
  daysInShadow: number;
  minShadowDays: number;
  criteria: Criterion[];
  reasons: string[];
  recommendation: Recommendation;
  /** the earliest date all time-bound criteria can be met (null when they already are) */
  earliestEligibleAt: Date | null;
  /** past the maximum shadow duration */
  overdue: boolean;
  /** past the maximum with 0 unresolved violations and enough transactions: must be enforced */
  lingering: boolean;
  /** for a lingering project: move to enforcing before this moment */
  enforceDeadline: Date | null;
}

export function daysBetween(from: Date, to: Date): number {
  return Math.floor((to.getTime() - from.getTime()) / DAY);
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The exit criteria for a project in shadow: >= min days on the shadow clock, >= min transactions,
 * 0 unresolved violations, every violation reviewed. Pure: takes the data and the time.
 */
export function evaluateEligibility(
  s: ProjectStats,
  t: Thresholds,
  now: Date,
  holidays: readonly string[] = [],
): Eligibility {
  const start = s.shadowStartedAt ?? now;
  const minDays = s.minShadowDays ?? t.minShadowDays;
  const days = s.phase === 'shadow' ? daysBetween(start, now) : 0;
  const durationMet = s.phase === 'shadow' && days >= minDays;
  const durationAt = new Date(start.getTime() + minDays * DAY);
  const criteria: Criterion[] = [
    {
      name: 'duration',
      met: durationMet,
      line: durationMet
        ? `Shadow duration: ${plural(days, 'day')} ✓`
        : `Shadow duration: ${plural(days, 'day')} (minimum: ${minDays})`,
      ...(durationMet ? {} : { metAt: durationAt }),
    },
    {
      name: 'transactions',
      met: s.transactions >= t.minTransactions,
      line:
        s.transactions >= t.minTransactions
          ? `Transactions: ${s.transactions} ✓`
          : `Transactions: ${s.transactions} (minimum: ${t.minTransactions})`,
    },
    {
      name: 'violations',
      met: s.unresolved === 0,
      line:
        s.unresolved === 0
          ? s.violations === 0
            ? 'Violations: 0 ✓'
            : `Violations: ${s.violations}, all documented false positives ✓`
          : `Violations: ${s.unresolved} detected`,
    },
    {
      name: 'review',
      met: s.unreviewedFingerprints === 0,
      line:
        s.unreviewedFingerprints === 0
          ? `Review: ${s.fingerprints === 0 ? 'nothing to review' : `${s.fingerprints}/${s.fingerprints} fingerprints reviewed`} ✓`
          : `Review: ${s.fingerprints - s.unreviewedFingerprints}/${s.fingerprints} fingerprints reviewed (${plural(s.unreviewedFingerprints, 'unreviewed fingerprint')})`,
    },
  ];
  const eligible = s.phase === 'shadow' && criteria.every((c) => c.met);
  const overdue = s.phase === 'shadow' && days > t.maxShadowDays;
  const clean = s.unresolved === 0 && s.unreviewedFingerprints === 0;
  const lingering = overdue && clean && s.transactions >= t.minTransactions;
  const base: Action = !clean
    ? 'investigate violations'
    : eligible
      ? 'move to enforcing'
      : 'continue monitoring';
  const recommendation: Recommendation = overdue
    ? (`URGENT: past ${t.maxShadowDays} days, ${base}` as const)
    : base === 'move to enforcing'
      ? 'proceed to enforcing'
      : base;
  return {
    projectId: s.projectId,
    eligible,
    daysInShadow: days,
    minShadowDays: minDays,
    criteria,
    reasons: criteria.filter((c) => !c.met).map((c) => c.line),
    recommendation,
    earliestEligibleAt: durationMet || s.phase !== 'shadow' ? null : durationAt,
    overdue,
    lingering,
    enforceDeadline: lingering ? lingeringDeadline(start, t, holidays) : null,
  };
}

/** A lingering shadow phase must be enforced within N business days of passing the maximum. */
export function lingeringDeadline(shadowStartedAt: Date, t: Thresholds, holidays: readonly string[]): Date {
  const pastMax = new Date(shadowStartedAt.getTime() + t.maxShadowDays * DAY);
  return addBusinessDays(pastMax, t.enforceWithinBusinessDays, holidays);
}
