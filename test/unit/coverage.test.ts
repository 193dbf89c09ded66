import { describe, expect, it } from 'vitest';
import { type Coverage, missingCoverage, parseCoverageSpec, untouchedTables } from '../../shared/domain/coverage.js';
import { evaluateEligibility } from '../../shared/domain/eligibility.js';
import { coverageReport } from '../../shared/domain/report.js';
import { UTC_CALENDAR } from '../../shared/domain/business-days.js';
import { DEFAULT_THRESHOLDS } from '../../shared/config.js';

const seen = (table: string, operation: 'SELECT' | 'INSERT' | 'UPDATE' | 'DELETE', transactions = 1) =>
  ({ table, operation, transactions, firstSeen: new Date('2026-01-02T00:00:00Z'), lastSeen: new Date('2026-01-03T00:00:00Z') });
const cov = (required: Coverage['required']): Coverage => ({
  tables: ['a', 'b'], observed: [seen('a', 'SELECT', 3), seen('a', 'UPDATE')], required,
});

describe('coverage', () => {
  it('parses operations, table:operation pairs and none; refuses anything else in one line', () => {
    expect(parseCoverageSpec('select, Update')).toEqual([{ table: null, operation: 'SELECT' }, { table: null, operation: 'UPDATE' }]);
    expect(parseCoverageSpec('public.docs:delete,b:INSERT')).toEqual([{ table: 'public.docs', operation: 'DELETE' }, { table: 'b', operation: 'INSERT' }]);
    expect(parseCoverageSpec('none')).toEqual([]);
    for (const bad of ['', 'select,', 'truncate', 'docs:', ':select', 'none,select', 'docs:select:x']) {
      expect(() => parseCoverageSpec(bad), bad).toThrow(/^bad coverage item/);
    }
  });

  it('names the tables never touched and the required pairs not exercised (every table for an operation alone)', () => {
    expect(untouchedTables(cov([]))).toEqual(['b']);
    expect(missingCoverage(cov([]))).toEqual([]);
    expect(missingCoverage(cov([{ table: null, operation: 'SELECT' }, { table: 'a', operation: 'UPDATE' }, { table: 'a', operation: 'DELETE' }])))
      .toEqual([{ table: 'a', operation: 'DELETE' }, { table: 'b', operation: 'SELECT' }]);
  });

  it('is an exit criterion only when required', () => {
    const base = {
      projectId: 'sm', accessLevel: 'isolated' as const, legacyOwner: false, minShadowDays: null, phase: 'shadow' as const,
      updatedAt: new Date('2026-01-01T00:00:00Z'), shadowStartedAt: new Date('2026-01-01T00:00:00Z'),
      transactions: 5000, unobserved: 0, violations: 0, unresolved: 0, unreviewedFingerprints: 0, fingerprints: 0, ineligibleSeenAt: null,
    };
    const now = new Date('2026-01-20T00:00:00Z');
    const free = evaluateEligibility({ ...base, coverage: cov([]) }, DEFAULT_THRESHOLDS, now, UTC_CALENDAR);
    expect(free.eligible).toBe(true);
    expect(free.criteria.map((c) => c.name)).not.toContain('coverage');
    const strict = evaluateEligibility({ ...base, coverage: cov([{ table: null, operation: 'UPDATE' }]) }, DEFAULT_THRESHOLDS, now, UTC_CALENDAR);
    expect(strict.eligible).toBe(false);
    expect(strict.reasons).toEqual(['Coverage: not exercised in this shadow window: UPDATE on b']);
    const met = evaluateEligibility({ ...base, coverage: cov([{ table: 'a', operation: 'UPDATE' }]) }, DEFAULT_THRESHOLDS, now, UTC_CALENDAR);
    expect(met.eligible).toBe(true);
    expect(met.criteria.at(-1)).toMatchObject({ name: 'coverage', met: true });
  });

  it('reports every table by operation, with counts, requirement and never-touched tables', () => {
    const r = coverageReport(cov([{ table: null, operation: 'DELETE' }]));
    expect(r.never_touched).toEqual(['b']);
    expect(r.tables[0]).toMatchObject({ table: 'a', touched: true });
    expect(r.tables[0]!.operations.SELECT).toMatchObject({ transactions: 3, required: false, first_seen: '2026-01-02T00:00:00.000Z' });
    expect(r.tables[0]!.operations.DELETE).toEqual({ transactions: 0, required: true, first_seen: null, last_seen: null });
    expect(r.tables[1]).toMatchObject({ table: 'b', touched: false });
    expect(r.missing).toEqual([{ table: 'a', operation: 'DELETE' }, { table: 'b', operation: 'DELETE' }]);
  });
});
