import { InputError } from '../errors.js';

/**
 * Coverage: which protected tables and operations a project exercised in its current shadow window
 * (allowed accesses included, counted in transactions), and which ones an operator requires it to
 * have exercised before it may enforce. Pure.
 */
export const OPERATIONS = ['SELECT', 'INSERT', 'UPDATE', 'DELETE'] as const;
export type Operation = (typeof OPERATIONS)[number];

export interface ObservedAccess {
  table: string;
  operation: Operation;
  /** transactions of the window that ran at least one such statement on the table */
  transactions: number;
  firstSeen: Date;
  lastSeen: Date;
}

/** One required operation: on one table, or (table null) on every protected table. */
export interface CoverageRequirement {
  table: string | null;
  operation: Operation;
}

export interface TableOperation {
  table: string;
  operation: Operation;
}

export interface Coverage {
  /** the protected tables (partitions count for their root), by name */
  tables: string[];
  observed: ObservedAccess[];
  required: CoverageRequirement[];
}

export const NO_COVERAGE: Coverage = { tables: [], observed: [], required: [] };

/** Protected tables the project never touched in the window. */
export function untouchedTables(c: Coverage): string[] {
  const touched = new Set(c.observed.map((o) => o.table));
  return c.tables.filter((t) => !touched.has(t));
}

/** Required (table, operation) pairs not exercised in the window, in table then operation order. */
export function missingCoverage(c: Coverage): TableOperation[] {
  const seen = new Set(c.observed.map((o) => `${o.table}\u0000${o.operation}`));
  const wanted = new Map<string, TableOperation>();
  for (const r of c.required) {
    for (const table of r.table === null ? c.tables : [r.table]) wanted.set(`${table}\u0000${r.operation}`, { table, operation: r.operation });
  }
  return [...wanted.entries()]
    .filter(([k]) => !seen.has(k))
    .map(([, v]) => v)
    .sort((a, b) => a.table.localeCompare(b.table) || OPERATIONS.indexOf(a.operation) - OPERATIONS.indexOf(b.operation));
}

export const describeRequirement = (r: CoverageRequirement): string =>
  r.table === null ? `${r.operation} on every protected table` : `${r.operation} on ${r.table}`;

export const describePair = (p: TableOperation): string => `${p.operation} on ${p.table}`;

/**
 * Parses --require-coverage: `select,update`, `public.docs:update,public.notes:select`, or `none`
 * (nothing required). Table names are checked against the protected tables by the database.
 */
export function parseCoverageSpec(spec: string): CoverageRequirement[] {
  const items = spec.split(',').map((s) => s.trim());
  if (items.length === 1 && items[0]!.toLowerCase() === 'none') return [];
  return items.map((item) => {
    const colon = item.lastIndexOf(':');
    const table = colon >= 0 ? item.slice(0, colon).trim() : null;
    const op = (colon >= 0 ? item.slice(colon + 1) : item).trim().toUpperCase();
    if (!(OPERATIONS as readonly string[]).includes(op) || table === '') {
      throw new InputError(`bad coverage item "${item}": give an operation (select, insert, update, delete) or table:operation, comma-separated, or "none" alone`);
    }
    return { table, operation: op as Operation };
  });
}
