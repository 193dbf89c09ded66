import type { Coverage, CoverageRequirement, Operation } from '../domain/coverage.js';
import type { Queryable } from './pool.js';
import { queryOne, queryRows } from './sql.js';

/** A row of sql/queries/coverage.sql (json columns: timestamps as text). */
interface CoverageRow {
  project_id: string;
  tables: string[];
  observed: Array<{ table: string; operation: Operation; transactions: number; first_seen: string; last_seen: string }>;
  required: Array<{ table: string | null; operation: Operation }>;
}

/** Coverage of the given projects (all when omitted), by project: read it after absorbing the inbox. */
export async function loadCoverage(db: Queryable, projectIds?: readonly string[]): Promise<Map<string, Coverage>> {
  const rows = await queryRows<CoverageRow>(db, 'coverage', [projectIds ?? null]);
  return new Map(rows.map((r) => [r.project_id, {
    tables: r.tables,
    observed: r.observed.map((o) => ({
      table: o.table, operation: o.operation, transactions: Number(o.transactions),
      firstSeen: new Date(o.first_seen), lastSeen: new Date(o.last_seen),
    })),
    required: r.required,
  }]));
}

/**
 * Replaces what a project must have exercised in its shadow window before it may enforce (empty:
 * shown, not required). A table that is not protected or an unknown project: one-line error, exit 2.
 */
export async function setRequiredCoverage(db: Queryable, projectId: string, required: readonly CoverageRequirement[]): Promise<number> {
  return (await queryOne<{ requirements: number }>(db, 'coverage-require',
    [projectId, required.map((r) => r.table), required.map((r) => r.operation)])).requirements;
}
