import type { Config } from '../config.js';
import { evaluateEligibility, type Eligibility, type ProjectStats } from './eligibility.js';

export interface ProjectReport {
  access_level: string;
  legacy_owner: boolean;
  phase: string;
  shadow_started_at: string | null;
  days_in_shadow: number;
  min_shadow_days: number;
  transaction_count: number;
  violation_count: number;
  unresolved_count: number;
  unreviewed_count: number;
  eligible: boolean;
  reasons: string[];
  criteria: Array<{ name: string; met: boolean; line: string; met_at?: string }>;
  earliest_eligible_at: string | null;
  recommendation: string;
  /** past the maximum shadow duration */
  past_max: boolean;
  enforce_deadline: string | null;
  /** past the enforcing deadline of the maximum-duration rule */
  overdue: boolean;
}

export interface Report {
  generated_at: string;
  total_projects: number;
  eligible_count: number;
  projects: Record<string, ProjectReport>;
}

/** The report of the projects in shadow (the seed's shape, extended). Pure. */
export function buildReport(stats: readonly ProjectStats[], cfg: Config, now: Date): Report {
  const projects: Record<string, ProjectReport> = {};
  let eligible = 0;
  for (const s of stats.filter((x) => x.phase === 'shadow')) {
    const e: Eligibility = evaluateEligibility(s, cfg.thresholds, now, cfg.calendar);
    if (e.eligible) eligible += 1;
    projects[s.projectId] = {
      access_level: s.accessLevel,
      legacy_owner: s.legacyOwner,
      phase: s.phase,
      shadow_started_at: s.shadowStartedAt?.toISOString() ?? null,
      days_in_shadow: e.daysInShadow,
      min_shadow_days: e.minShadowDays,
      transaction_count: s.transactions,
      violation_count: s.violations,
      unresolved_count: s.unresolved,
      unreviewed_count: s.unreviewedFingerprints,
      eligible: e.eligible,
      reasons: e.reasons,
      criteria: e.criteria.map((c) => ({ name: c.name, met: c.met, line: c.line, ...(c.metAt ? { met_at: c.metAt.toISOString() } : {}) })),
      earliest_eligible_at: e.earliestEligibleAt?.toISOString() ?? null,
      recommendation: e.recommendation,
      past_max: e.pastMax,
      enforce_deadline: e.enforceDeadline?.toISOString() ?? null,
      overdue: e.overdue,
    };
  }
  return {
    generated_at: now.toISOString(),
    total_projects: Object.keys(projects).length,
    eligible_count: eligible,
    projects,
  };
}
