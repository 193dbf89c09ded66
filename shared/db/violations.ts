import type { Queryable } from './pool.js';
import type { DigestTotal, FingerprintInfo } from '../notify/messages.js';
import { execute, queryOne, queryRows } from './sql.js';
import { InputError, SQLSTATE, sqlState } from '../errors.js';
import { requireProjects } from './projects.js';
import { OPERATIONS } from '../domain/coverage.js';

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
  /** the statement that noted it (first kB) and the session's application_name */
  statement: string | null;
  application_name: string | null;
  /** the statement may have discarded the rows it noted (a join, MERGE, a filter after the policy) */
  plan_dependent: boolean;
}

export async function fingerprints(db: Queryable, projectId?: string, since?: Date): Promise<Fingerprint[]> {
  return since
    ? queryRows<Fingerprint>(db, 'fingerprints-since', [projectId ?? null, since])
    : queryRows<Fingerprint>(db, 'fingerprints', [projectId ?? null]);
}

export async function samples(db: Queryable, n: number, projectId?: string, since?: Date): Promise<Sample[]> {
  if (n === 0) return [];
  return queryRows<Sample>(db, 'violation-samples', [projectId ?? null, since ?? null, n]);
}

export interface DailyViolations {
  project_id: string;
  day: string;
  occurrences: number;
}

export async function dailyViolations(db: Queryable, sinceDay: Date): Promise<DailyViolations[]> {
  return queryRows<DailyViolations>(db, 'violation-daily', [sinceDay.toISOString().slice(0, 10)]);
}

export interface ReviewRequest {
  /** the fingerprints, or a selection of the unreviewed ones */
  fingerprintIds?: number[];
  selection?: { projectId?: string; table?: string; operation?: string };
  resolution: string;
  ref?: string;
  rationale?: string;
  actor: string;
  at: Date;
}


/** "12", "3,4" and repeated options: positive ids, each once; anything else is an InputError. */
export function parseFingerprintIds(values: readonly string[]): number[] {
  const ids: number[] = [];
  for (const v of values) {
    for (const part of v.split(',')) {
      const t = part.trim();
      if (!/^[1-9]\d{0,15}$/.test(t)) throw new InputError(`malformed fingerprint list "${v}": expected ids like 12 or 12,13,14`);
      const id = Number(t);
      if (ids.includes(id)) throw new InputError(`malformed fingerprint list: ${id} appears twice`);
      ids.push(id);
    }
  }
  return ids;
}

/**
 * Records one root cause for the fingerprints, all or nothing, with one clock reset per project
 * concerned (code-fix, acl-change). Returns the fingerprints reviewed and their projects.
 */
export async function review(db: Queryable, r: ReviewRequest): Promise<{ fingerprintIds: number[]; projects: string[] }> {
  if (!(RESOLUTIONS as readonly string[]).includes(r.resolution)) {
    throw new InputError(`unknown resolution "${r.resolution}" (code-fix, acl-change or false-positive)`);
  }
  if (!r.ref) throw new InputError('--ref is required: the PR, migration or issue that documents the resolution');
  if (r.resolution === 'false-positive' && !r.rationale) {
    throw new InputError('a false positive needs --rationale (and --ref to the issue)');
  }
  let ids = r.fingerprintIds ?? [];
  if (r.selection) {
    const { projectId, table, operation } = r.selection;
    if (operation !== undefined && !(OPERATIONS as readonly string[]).includes(operation)) {
      throw new InputError(`unknown operation "${operation}" (${OPERATIONS.join(', ')})`);
    }
    if (projectId !== undefined) await requireProjects(db, [projectId]);
    ids = (await queryRows<{ id: number }>(db, 'fingerprints-unreviewed-selected', [projectId ?? null, table ?? null, operation ?? null])).map((x) => x.id);
    if (ids.length === 0) {
      const what = [projectId && `project ${projectId}`, table && `table ${table}`, operation && `operation ${operation}`].filter(Boolean).join(', ');
      throw new InputError(`no unreviewed fingerprint matches ${what}`);
    }
  }
  if (ids.length === 0) throw new InputError('give --fingerprint ids or a selection (--project, --table, --operation)');
  try {
    const row = await queryOne<{ projects: string[] }>(db, 'fingerprint-review', [ids, r.resolution, r.ref, r.rationale ?? null, r.actor, r.at]);
    return { fingerprintIds: ids, projects: row.projects };
  } catch (err) {
    if (sqlState(err) === SQLSTATE.noDataFound) throw new InputError((err as Error).message);
    throw err;
  }
}

/** A fingerprint with its project's lead, as the investigation messages show it. */
export interface FingerprintWithLead {
  id: number;
  project_id: string;
  table_name: string;
  operation: string;
  row_project_id: string | null;
  denied_reason: string;
  occurrences: number;
  first_seen: Date;
  open_since: Date | null;
  lead_email: string | null;
  lead_slack: string | null;
}

/**
 * Claims for announcement batch `batch` the unreviewed fingerprints among `ids` not announced in
 * notification window `window` yet. In the transaction that moves the event position: each batch
 * announces a fingerprint once, and a replay announces nothing.
 */
export async function claimForAnnouncement(db: Queryable, ids: readonly number[], window: number, batch: number): Promise<number> {
  return execute(db, 'fingerprints-announce-claim', [ids, window, batch]);
}

/** What announcement batch `batch` claimed: per project, fingerprints and row accesses. */
export async function batchTotals(db: Queryable, batch: number): Promise<DigestTotal[]> {
  return queryRows<DigestTotal>(db, 'fingerprints-batch-totals', [batch]);
}

/** The `n` fingerprints of announcement batch `batch` with the most row accesses. */
export async function batchTop(db: Queryable, batch: number, n: number): Promise<FingerprintInfo[]> {
  return queryRows<FingerprintInfo>(db, 'fingerprints-batch-top', [batch, n]);
}
