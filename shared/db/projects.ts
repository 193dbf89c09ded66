import { InputError, SQLSTATE, sqlState } from '../errors.js';
import { isProjectId, PROJECT_ID_RULE } from '../domain/project-id.js';
import { ACCESS_LEVELS, type AccessLevel, type Phase } from '../domain/phase.js';
import type { CoverageRequirement } from '../domain/coverage.js';
import type { Queryable } from './pool.js';
import { execute, queryOne, queryRows } from './sql.js';

export interface NewProject {
  projectId: string;
  accessLevel: AccessLevel;
  name?: string;
  legacyOwner?: boolean;
  leadEmail?: string;
  leadSlack?: string;
  minShadowDays?: number;
  transactionsFrom?: TransactionSource;
}

/** Where a project's transactions are counted (one source: nothing is counted twice). */
export type TransactionSource = 'database' | 'tool-calls';
export const TRANSACTION_SOURCES: readonly TransactionSource[] = ['database', 'tool-calls'];

export interface ProjectRow {
  project_id: string;
  name: string;
  access_level: AccessLevel;
  legacy_owner: boolean;
  lead_email: string | null;
  lead_slack: string | null;
  min_shadow_days: number | null;
  transactions_from: TransactionSource;
  phase: Phase;
  updated_at: Date;
  shadow_started_at: Date | null;
  reads: string[];
  /** what it must have exercised in shadow before enforcing (project set --require-coverage) */
  required_coverage: CoverageRequirement[];
}

export async function addProject(db: Queryable, p: NewProject): Promise<void> {
  if (!isProjectId(p.projectId)) {
    throw new InputError(`bad project id "${p.projectId}": ${PROJECT_ID_RULE}`);
  }
  if (!ACCESS_LEVELS.includes(p.accessLevel)) {
    throw new InputError(`unknown access level "${p.accessLevel}" (isolated, shared or super)`);
  }
  if (p.transactionsFrom !== undefined && !TRANSACTION_SOURCES.includes(p.transactionsFrom)) {
    throw new InputError(`unknown transaction source "${p.transactionsFrom}" (database or tool-calls)`);
  }
  try {
    await execute(db, 'project-add', [
      p.projectId, p.name ?? null, p.accessLevel, p.legacyOwner ?? false,
      p.leadEmail ?? null, p.leadSlack ?? null, p.minShadowDays ?? null, p.transactionsFrom ?? 'database',
    ]);
  } catch (err) {
    if (sqlState(err) === SQLSTATE.uniqueViolation) throw new InputError(`project "${p.projectId}" already exists`);
    // anything else (e.g. 22023: the id can never match a protected table's tenant column,
    // shadowgate.check_project_id) carries PostgreSQL's line to the operator: see classifyError
    throw err;
  }
}

export async function listProjects(db: Queryable): Promise<ProjectRow[]> {
  return queryRows<ProjectRow>(db, 'project-list');
}

export async function requireProjects(db: Queryable, ids: readonly string[]): Promise<void> {
  const rows = await queryRows<{ project_id: string }>(db, 'projects-known', [ids]);
  const known = new Set(rows.map((r) => r.project_id));
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length) throw unknownProjects(unknown);
}

/** The operator's error for ids that name no registered project. */
export function unknownProjects(ids: readonly string[]): InputError {
  return new InputError(`unknown project${ids.length > 1 ? 's' : ''} ${ids.map((u) => `"${u}"`).join(', ')}`);
}

/** Who changes a permission, and when (the reader's shadow clock restarts then). */
export interface ChangeBy {
  actor: string;
  at: Date;
}

/**
 * Grants or withdraws a read permission; for a reader in shadow the clock restarts in the same
 * transaction (shadowgate.change_read_permission()). False when there was nothing to change.
 */
async function changePermission(db: Queryable, reader: string, target: string, grant: boolean, by: ChangeBy): Promise<boolean> {
  await requireProjects(db, [reader, target]);
  if (reader === target) throw new InputError(`a project always reads its own rows ("${reader}")`);
  return (await queryOne<{ changed: boolean }>(db, 'permission-change', [reader, target, grant, by.actor, by.at])).changed;
}

export const permit = (db: Queryable, reader: string, target: string, by: ChangeBy) => changePermission(db, reader, target, true, by);
export const revoke = (db: Queryable, reader: string, target: string, by: ChangeBy) => changePermission(db, reader, target, false, by);
