import { DAY } from '../clock.js';
import type { Thresholds } from '../config.js';
import { addBusinessDays, formatLocal, type Calendar } from './business-days.js';
import { type Coverage, describePair, missingCoverage } from './coverage.js';
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
  /**
   * transactions since the shadow clock started that shadowgate could not observe (declared, or with
   * a would-be denial of the project, in a session without a recorder): not in `transactions`
   */
  unobserved: number;
  /** would-be denied row accesses since the shadow clock started */
  violations: number;
  /** ... of those, not documented as false positives */
  unresolved: number;
  /** fingerprints with an occurrence no review covers */
  unreviewedFingerprints: number;
  fingerprints: number;
  /** the last moment the eligibility worker saw the project not eligible in its current shadow window */
  ineligibleSeenAt: Date | null;
  /** what it exercised in its current shadow window, and what it must have exercised */
  coverage: Coverage;
}

export interface Criterion {
  name: 'duration' | 'transactions' | 'violations' | 'review' | 'coverage';
  met: boolean;
  line: string;
  /** what was measured, and the threshold it is held against */
  value: number;
  threshold: number;
  /** for a time criterion not met yet: the earliest moment it will be */
  metAt?: Date;
}

export interface Eligibility {
  projectId: string;
  eligible: boolean;
  daysInShadow: number;
  minShadowDays: number;
  criteria: Criterion[];
  reasons: string[];
  recommendation: string;
  /** the earliest date all time-bound criteria can be met (null when they already are) */
  earliestEligibleAt: Date | null;
  /** past the maximum shadow duration */
  pastMax: boolean;
  /** past the maximum with every criterion met: must be enforced before `enforceDeadline` */
  lingering: boolean;
  /**
   * when the project started lingering: the later of passing the maximum and the last moment it was
   * seen not eligible (it became eligible after that; unknown exactly when, so the earliest moment)
   */
  lingeringSince: Date | null;
  /** for a lingering project: move to enforcing before this moment */
  enforceDeadline: Date | null;
  /** lingering past its enforcing deadline */
  overdue: boolean;
}

export function daysBetween(from: Date, to: Date): number {
  return Math.floor((to.getTime() - from.getTime()) / DAY);
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** The minimum shadow duration of a project: its own, else the default; a legacy owner never less than the legacy minimum. */
export function minShadowDaysOf(s: Pick<ProjectStats, 'minShadowDays' | 'legacyOwner'>, t: Thresholds): number {
  const own = s.minShadowDays ?? t.minShadowDays;
  return s.legacyOwner ? Math.max(own, t.legacyMinShadowDays) : own;
}

/** When a shadow window that started at `shadowStartedAt` passes the maximum shadow duration (the story's "> 14 days"). */
export function pastMaxAt(shadowStartedAt: Date, t: Thresholds): Date {
  return new Date(shadowStartedAt.getTime() + t.maxShadowDays * DAY);
}

/** The coverage criterion, when the project requires some (default: shown, not required). */
function coverageCriterion(c: Coverage): Criterion[] {
  if (c.required.length === 0) return [];
  const missing = missingCoverage(c);
  return [{
    name: 'coverage',
    met: missing.length === 0,
    value: missing.length,
    threshold: 0,
    line: missing.length === 0
      ? `Coverage: every required operation exercised ✓`
      : `Coverage: not exercised in this shadow window: ${missing.map(describePair).join(', ')}`,
  }];
}

/**
 * The exit criteria for a project in shadow: >= min days on the shadow clock, >= min transactions,
 * 0 unresolved violations, every violation reviewed, the required coverage if any; and the maximum-duration rule: past the
 * maximum with every criterion met, the project must be enforced within N business days of the
 * moment it started lingering. Pure: takes the data, the time and the calendar.
 */
export function evaluateEligibility(s: ProjectStats, t: Thresholds, now: Date, cal: Calendar): Eligibility {
  const inShadow = s.phase === 'shadow' && s.shadowStartedAt !== null;
  const start = s.shadowStartedAt ?? now;
  const minDays = minShadowDaysOf(s, t);
  const days = inShadow ? daysBetween(start, now) : 0;
  const durationMet = inShadow && days >= minDays;
  const durationAt = new Date(start.getTime() + minDays * DAY);
  const criteria: Criterion[] = [
    {
      name: 'duration',
      met: durationMet,
      value: days,
      threshold: minDays,
      line: durationMet
        ? `Shadow duration: ${plural(days, 'day')} ✓`
        : `Shadow duration: ${plural(days, 'day')} (minimum: ${minDays})`,
      ...(durationMet ? {} : { metAt: durationAt }),
    },
    {
      name: 'transactions',
      met: s.transactions >= t.minTransactions,
      value: s.transactions,
      threshold: t.minTransactions,
      line:
        s.transactions >= t.minTransactions
          ? `Transactions: ${s.transactions} ✓`
          : `Transactions: ${s.transactions} (minimum: ${t.minTransactions})`,
    },
    {
      name: 'violations',
      met: s.unresolved === 0,
      value: s.unresolved,
      threshold: 0,
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
      value: s.unreviewedFingerprints,
      threshold: 0,
      line:
        s.unreviewedFingerprints === 0
          ? `Review: ${s.fingerprints === 0 ? 'nothing to review' : `${s.fingerprints}/${s.fingerprints} fingerprints reviewed`} ✓`
          : `Review: ${s.fingerprints - s.unreviewedFingerprints}/${s.fingerprints} fingerprints reviewed (${plural(s.unreviewedFingerprints, 'unreviewed fingerprint')})`,
    },
    ...coverageCriterion(s.coverage),
  ];
  const eligible = inShadow && criteria.every((c) => c.met);
  const maxAt = pastMaxAt(start, t);
  const pastMax = inShadow && now >= maxAt;
  const lingering = pastMax && eligible;
  const lingeringSince = lingering
    ? new Date(Math.max(maxAt.getTime(), s.ineligibleSeenAt?.getTime() ?? 0))
    : null;
  const enforceDeadline = lingeringSince ? addBusinessDays(lingeringSince, t.enforceWithinBusinessDays, cal) : null;
  const overdue = enforceDeadline !== null && now >= enforceDeadline;
  const clean = s.unresolved === 0 && s.unreviewedFingerprints === 0;
  const base = !clean ? 'investigate violations' : eligible ? 'move to enforcing' : 'continue monitoring';
  const recommendation = overdue
    ? `OVERDUE: move to enforcing now (deadline ${formatLocal(enforceDeadline!, cal)} passed)`
    : lingering
      ? `URGENT: move to enforcing before ${formatLocal(enforceDeadline!, cal)}`
      : pastMax
        ? `URGENT: past ${t.maxShadowDays} days, ${base}`
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
    earliestEligibleAt: durationMet || !inShadow ? null : durationAt,
    pastMax,
    lingering,
    lingeringSince,
    enforceDeadline,
    overdue,
  };
}
