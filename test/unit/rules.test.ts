import { describe, expect, it } from 'vitest';
import { addBusinessDays } from '../../shared/domain/business-days.js';
import { evaluateEligibility, lingeringDeadline, type ProjectStats } from '../../shared/domain/eligibility.js';
import { orderBlockers, transitionError } from '../../shared/domain/transitions.js';
import { DEFAULT_THRESHOLDS, parseBatch, parseRolloutOrder } from '../../shared/config.js';
import { DAY } from '../../shared/clock.js';

describe('business days', () => {
  it('skips a weekend', () => {
    // Friday 2026-11-27 10:00 + 3 = Wednesday 2026-12-02 10:00
    expect(addBusinessDays(new Date('2026-11-27T10:00:00Z'), 3, []).toISOString()).toBe('2026-12-02T10:00:00.000Z');
  });
  it('skips a weekend and a holiday', () => {
    expect(addBusinessDays(new Date('2026-12-23T09:00:00Z'), 3, ['2026-12-24', '2026-12-25']).toISOString()).toBe('2026-12-30T09:00:00.000Z');
  });
  it('the lingering deadline is 3 business days after day 14', () => {
    // shadow from Friday 2026-11-13: day 14 is Friday 2026-11-27 -> Wednesday 2026-12-02
    expect(lingeringDeadline(new Date('2026-11-13T08:00:00Z'), DEFAULT_THRESHOLDS, []).toISOString()).toBe('2026-12-02T08:00:00.000Z');
  });
});

const base: ProjectStats = {
  projectId: 'io', accessLevel: 'super', legacyOwner: true, minShadowDays: 14, phase: 'shadow',
  updatedAt: new Date('2026-01-01T00:00:00Z'), shadowStartedAt: new Date('2026-01-01T00:00:00Z'),
  transactions: 5000, violations: 0, unresolved: 0, unreviewedFingerprints: 0, fingerprints: 0,
};

describe('eligibility', () => {
  it('uses the per-project minimum (14 days for the legacy owner)', () => {
    const e = evaluateEligibility(base, DEFAULT_THRESHOLDS, new Date(base.shadowStartedAt!.getTime() + 10 * DAY));
    expect(e.eligible).toBe(false);
    expect(e.reasons).toEqual(['Shadow duration: 10 days (minimum: 14)']);
    expect(e.earliestEligibleAt?.toISOString()).toBe('2026-01-15T00:00:00.000Z');
  });
  it('past 14 days and clean: URGENT, lingering, with a deadline', () => {
    const e = evaluateEligibility({ ...base, minShadowDays: null }, DEFAULT_THRESHOLDS, new Date(base.shadowStartedAt!.getTime() + 15 * DAY));
    expect(e).toMatchObject({ eligible: true, overdue: true, lingering: true, recommendation: 'URGENT: past 14 days, move to enforcing' });
    expect(e.enforceDeadline).not.toBeNull();
  });
  it('an unreviewed fingerprint blocks even when all violations are false positives', () => {
    const e = evaluateEligibility({ ...base, minShadowDays: 7, violations: 3, unreviewedFingerprints: 1, fingerprints: 2 }, DEFAULT_THRESHOLDS, new Date('2026-01-09T00:00:00Z'));
    expect(e.eligible).toBe(false);
    expect(e.recommendation).toBe('investigate violations');
    expect(e.reasons).toEqual(['Review: 1/2 fingerprints reviewed (1 unreviewed fingerprint)']);
  });
});

describe('transitions and order', () => {
  it('allows only the rollout moves', () => {
    expect(transitionError('sm', 'pending', 'shadow')).toBeNull();
    expect(transitionError('sm', 'enforcing', 'shadow')).toBeNull();
    expect(transitionError('sm', 'pending', 'enforcing')).toMatch(/illegal transition/);
    expect(transitionError('sm', 'complete', 'shadow')).toMatch(/allowed from complete: none/);
  });
  it('blocks a batch until every earlier project is enforcing or complete', () => {
    const order = parseRolloutOrder('sm | motoko | ab,aa,bap');
    const phases = new Map([['sm', 'enforcing'], ['motoko', 'shadow'], ['ab', 'pending']] as const);
    expect(orderBlockers('motoko', order, phases)).toEqual([]);
    expect(orderBlockers('aa', order, phases)).toEqual(['motoko']);
    expect(orderBlockers('unlisted', order, phases)).toEqual([]);
  });
  it('rejects malformed batch lists', () => {
    expect(() => parseBatch('ab,,aa')).toThrow(/malformed/);
    expect(() => parseBatch('ab,ab')).toThrow(/twice/);
    expect(() => parseBatch('a b')).toThrow(/bad project id/);
    expect(parseBatch(' ab, aa ')).toEqual(['ab', 'aa']);
  });
});
