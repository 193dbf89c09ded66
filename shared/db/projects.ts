import { InputError, SQLSTATE, sqlState } from '../errors.js';
import { isProjectId, PROJECT_ID_RULE } from '../domain/project-id.js';
import { ACCESS_LEVELS, type AccessLevel, type Phase } from '../domain/phase.js';
import type { Queryable } from './pool.js';
import { execute, queryRows } from './sql.js';

export interface NewProject {
  projectId: string;
  accessLevel: AccessLevel;
  name?: string;
  legacyOwner?: boolean;
  leadEmail?: string;
  leadSlack?: string;
  minShadowDays?: number;
}

export interface ProjectRow {
  project_id: string;
  name: string;
  access_level: AccessLevel;
  legacy_owner: boolean;
  lead_email: string | null;
  lead_slack: string | null;
  min_shadow_days: number | null;
  phase: Phase;
  updated_at: Date;
  shadow_started_at: Date | null;
  reads: string[];
}

export async function addProject(db: Queryable, p: NewProject): Promise<void> {
  if (!isProjectId(p.projectId)) {
    throw new InputError(`bad project id "${p.projectId}": ${PROJECT_ID_RULE}`);
  }
  if (!ACCESS_LEVELS.includes(p.accessLevel)) {
    throw new InputError(`unknown access level "${p.accessLevel}" (isolated, shared or super)`);
  }
  try {
    await execute(db, 'project-add', [
      p.projectId, p.name ?? null, p.accessLevel, p.legacyOwner ?? false,
      p.leadEmail ?? null, p.leadSlack ?? null, p.minShadowDays ?? null,
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

export async function permit(db: Queryable, reader: string, target: string): Promise<boolean> {
  await requireProjects(db, [reader, target]);
  if (reader === target) throw new InputError(`a project always reads its own rows ("${reader}")`);
  return (await execute(db, 'permission-add', [reader, target])) > 0;
}

export async function revoke(db: Queryable, reader: string, target: string): Promise<boolean> {
  await requireProjects(db, [reader, target]);
  return (await execute(db, 'permission-remove', [reader, target])) > 0;
}
