import type { Queryable } from './pool.js';
import { sql } from './sql.js';
import { InputError } from '../errors.js';

export type Resolution = 'code-fix' | 'acl-change' | 'false-positive';
export const RESOLUTIONS: readonly Resolution[] = ['code-fix', 'acl-change', 'false-positive'];

export interface Fingerprint {
  id: number | null;
  project_id: string;
  table_name: string;
  operation: string;
  row_project_id: string | null;
  denied_reason: string;
  occurrences: number;
  audit_rows: number;
  window_occurrences: number | null;
  first_seen: Date;
  last_seen: Date;
  open_since: Date | null;
  resolution: Resolution | null;
  ref: string | null;
  rationale: string | null;
  reviewed_by: string | null;
  reviewed_at: Date | null;
}

export interface Sample {
  id: number;
  logged_at: Date;
  project_id: string;
  table_name: string;
  operation: string;
  row_project_id: string | null;
  denied_reason: string;
  row_count: number;
  user_name: string | null;
  session_id: string | null;
  context_project_id: string | null;
}

export async function fingerprints(db: Queryable, projectId?: string, since?: Date): Promise<Fingerprint[]> {
  const { rows } = since
    ? await db.query<Fingerprint>(sql('fingerprints-since'), [projectId ?? null, since])
    : await db.query<Fingerprint>(sql('fingerprints'), [projectId ?? null]);
  return rows;
}

export async function samples(db: Queryable, n: number, projectId?: string, since?: Date): Promise<Sample[]> {
  if (n === 0) return [];
  return (await db.query<Sample>(sql('violation-samples'), [projectId ?? null, since ?? null, n])).rows;
}

export async function dailyViolations(db: Queryable, sinceDay: Date): Promise<Array<{ project_id: string; day: string; occurrences: number }>> {
  return (await db.query(sql('violation-daily'), [sinceDay.toISOString().slice(0, 10)])).rows;
}

export interface ReviewRequest {
  fingerprintId: number;
  resolution: string;
  ref?: string;
  rationale?: string;
  actor: string;
  at: Date;
}

/** Records a root cause. Returns the fingerprint's project. */
export async function review(db: Queryable, r: ReviewRequest): Promise<string> {
  if (!(RESOLUTIONS as readonly string[]).includes(r.resolution)) {
    throw new InputError(`unknown resolution "${r.resolution}" (code-fix, acl-change or false-positive)`);
  }
  if (!r.ref) throw new InputError('--ref is required: the PR, migration or issue that documents the resolution');
  if (r.resolution === 'false-positive' && !r.rationale) {
    throw new InputError('a false positive needs --rationale (and --ref to the issue)');
  }
  try {
    const { rows } = await db.query<{ p: string }>(
      'SELECT shadowgate.review_fingerprint($1, $2, $3, $4, $5, $6) AS p',
      [r.fingerprintId, r.resolution, r.ref, r.rationale ?? null, r.actor, r.at],
    );
    return rows[0].p;
  } catch (err) {
    if ((err as { code?: string }).code === 'P0002') throw new InputError(`unknown fingerprint ${r.fingerprintId}`);
    throw err;
  }
}
