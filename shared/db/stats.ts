import type { ProjectStats } from '../domain/eligibility.js';
import type { Queryable } from './pool.js';
import { sql } from './sql.js';

export interface ProjectStatsRow extends ProjectStats {
  name: string;
  leadEmail: string | null;
  leadSlack: string | null;
}

/**
 * Empties the audit inbox into the audit log and the violation counters (cheap when empty).
 * Returns the number of violation events it emitted.
 */
export async function absorbAudit(db: Queryable): Promise<number> {
  return (await db.query<{ n: number }>('SELECT shadowgate.absorb_audit() AS n')).rows[0].n;
}

/** Stats that include every would-be denial committed so far: absorbs, then loads. */
export async function currentStats(db: Queryable, projectIds?: readonly string[]): Promise<ProjectStatsRow[]> {
  await absorbAudit(db);
  return loadStats(db, projectIds);
}

/** Stats of the given projects (all when omitted), in registration order. */
export async function loadStats(db: Queryable, projectIds?: readonly string[]): Promise<ProjectStatsRow[]> {
  const { rows } = await db.query(sql('project-stats'), [projectIds ?? null]);
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
    violations: r.violations,
    unresolved: r.unresolved,
    unreviewedFingerprints: r.unreviewed_fingerprints,
    fingerprints: r.fingerprints,
  }));
}
