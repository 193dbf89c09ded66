import type { ProjectStats } from '../domain/eligibility.js';
import type { AccessLevel, Phase } from '../domain/phase.js';
import { NO_COVERAGE } from '../domain/coverage.js';
import { loadCoverage } from './coverage.js';
import { absorbAudit } from './intake.js';
import type { Queryable } from './pool.js';
import { queryRows } from './sql.js';

export interface ProjectStatsRow extends ProjectStats {
  name: string;
  leadEmail: string | null;
  leadSlack: string | null;
}

/** A row of sql/queries/project-stats.sql. */
interface StatsRow {
  project_id: string;
  name: string;
  access_level: AccessLevel;
  legacy_owner: boolean;
  min_shadow_days: number | null;
  lead_email: string | null;
  lead_slack: string | null;
  phase: Phase;
  updated_at: Date;
  shadow_started_at: Date | null;
  transactions: number;
  unobserved: number;
  violations: number;
  unresolved: number;
  unreviewed_fingerprints: number;
  fingerprints: number;
  ineligible_seen_at: Date | null;
}

/** Stats that include every would-be denial committed so far: absorbs (writes), then loads. */
export async function absorbAndLoadStats(db: Queryable, projectIds?: readonly string[]): Promise<ProjectStatsRow[]> {
  await absorbAudit(db);
  return loadStats(db, projectIds);
}

/** Stats of the given projects (all when omitted), in registration order. */
export async function loadStats(db: Queryable, projectIds?: readonly string[]): Promise<ProjectStatsRow[]> {
  const rows = await queryRows<StatsRow>(db, 'project-stats', [projectIds ?? null]);
  const coverage = await loadCoverage(db, projectIds);
  return rows.map((r) => ({
    projectId: r.project_id,
    name: r.name,
    accessLevel: r.access_level,
    legacyOwner: r.legacy_owner,
    minShadowDays: r.min_shadow_days,
    leadEmail: r.lead_email,
    leadSlack: r.lead_slack,
    phase: r.phase,
    updatedAt: r.updated_at,
    shadowStartedAt: r.shadow_started_at,
    transactions: r.transactions,
    unobserved: r.unobserved,
    violations: r.violations,
    unresolved: r.unresolved,
    unreviewedFingerprints: r.unreviewed_fingerprints,
    fingerprints: r.fingerprints,
    ineligibleSeenAt: r.ineligible_seen_at,
    coverage: coverage.get(r.project_id) ?? NO_COVERAGE,
  }));
}
