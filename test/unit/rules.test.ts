import { describe, expect, it } from 'vitest';
import { addBusinessDays, businessDaysElapsed, formatLocal, UTC_CALENDAR } from '../../shared/domain/business-days.js';
import { evaluateEligibility, type ProjectStats } from '../../shared/domain/eligibility.js';
import { NO_COVERAGE } from '../../shared/domain/coverage.js';
import { orderBlockers, transitionError } from '../../shared/domain/transitions.js';
import { DEFAULT_THRESHOLDS, parseBatch, parseRolloutOrder } from '../../shared/config.js';
import { DAY } from '../../shared/clock.js';
import { ownerLabel } from '../../shared/domain/owner.js';

describe('business days', () => {
  it('skips a weekend', () => {
    // Friday 2026-11-27 10:00 + 3 = Wednesday 2026-12-02 10:00
    expect(addBusinessDays(new Date('2026-11-27T10:00:00Z'), 3, UTC_CALENDAR).toISOString()).toBe('2026-12-02T10:00:00.000Z');
  });
  it('skips a weekend and a holiday', () => {
    expect(addBusinessDays(new Date('2026-12-23T09:00:00Z'), 3, { timeZone: 'UTC', holidays: ['2026-12-24', '2026-12-25'] }).toISOString()).toBe('2026-12-30T09:00:00.000Z');
  });
  it('counts weekdays and holidays in the configured timezone, keeping the local time across DST', () => {
    const tokyo = { timeZone: 'Asia/Tokyo', holidays: [] };
    // Friday 2026-11-27 20:00 UTC is Saturday 05:00 in Tokyo: Monday, Tuesday, Wednesday there
    expect(addBusinessDays(new Date('2026-11-27T20:00:00Z'), 3, tokyo).toISOString()).toBe('2026-12-01T20:00:00.000Z');
    expect(addBusinessDays(new Date('2026-11-27T20:00:00Z'), 3, UTC_CALENDAR).toISOString()).toBe('2026-12-02T20:00:00.000Z');
    // Berlin leaves summer time on Sunday 2026-10-25: Friday 09:00 CEST + 1 = Monday 09:00 CET
    const berlin = { timeZone: 'Europe/Berlin', holidays: ['2026-10-26'] };
    expect(addBusinessDays(new Date('2026-10-23T07:00:00Z'), 1, berlin).toISOString()).toBe('2026-10-27T08:00:00.000Z');
    expect(formatLocal(new Date('2026-10-27T08:00:00Z'), berlin)).toBe('Tue 2026-10-27 09:00 Europe/Berlin');
  });
  it('business days elapsed', () => {
    const fri = new Date('2026-11-27T10:00:00Z');
    expect(businessDaysElapsed(fri, new Date('2026-11-30T09:59:59Z'), UTC_CALENDAR)).toBe(0);
    expect(businessDaysElapsed(fri, new Date('2026-11-30T10:00:00Z'), UTC_CALENDAR)).toBe(1);
    expect(businessDaysElapsed(fri, new Date('2026-12-02T10:00:00Z'), UTC_CALENDAR)).toBe(3);
  });
});

const base: ProjectStats = {
  projectId: 'io', accessLevel: 'super', legacyOwner: true, minShadowDays: 14, phase: 'shadow',
  updatedAt: new Date('2026-01-01T00:00:00Z'), shadowStartedAt: new Date('2026-01-01T00:00:00Z'),
  transactions: 5000, unobserved: 0, violations: 0, unresolved: 0, unreviewedFingerprints: 0, fingerprints: 0, ineligibleSeenAt: null,
  coverage: NO_COVERAGE,
};
const at = (days: number) => new Date(base.shadowStartedAt!.getTime() + days * DAY);

describe('eligibility', () => {
  it('a legacy owner needs 14 days in shadow, whatever its own minimum says', () => {
    for (const minShadowDays of [null, 7, 3]) {
      const e = evaluateEligibility({ ...base, minShadowDays }, DEFAULT_THRESHOLDS, at(10), UTC_CALENDAR);
      expect(e.eligible).toBe(false);
      expect(e.reasons).toEqual(['Shadow duration: 10 days (minimum: 14)']);
      expect(e.earliestEligibleAt?.toISOString()).toBe('2026-01-15T00:00:00.000Z');
    }
    expect(evaluateEligibility({ ...base, minShadowDays: 21 }, DEFAULT_THRESHOLDS, at(14), UTC_CALENDAR).minShadowDays).toBe(21);
    expect(evaluateEligibility({ ...base, legacyOwner: false, minShadowDays: null }, DEFAULT_THRESHOLDS, at(7), UTC_CALENDAR).eligible).toBe(true);
  });
  it('as soon as 14 days have passed with every criterion met: lingering, deadline 3 business days on, OVERDUE after it', () => {
    // 2026-01-01 is a Thursday: day 14 is Thursday 2026-01-15, the deadline Tuesday 2026-01-20
    const p = { ...base, legacyOwner: false, minShadowDays: null };
    const before = evaluateEligibility(p, DEFAULT_THRESHOLDS, new Date(at(14).getTime() - 1), UTC_CALENDAR);
    expect(before).toMatchObject({ eligible: true, pastMax: false, lingering: false, enforceDeadline: null, recommendation: 'proceed to enforcing' });
    const e = evaluateEligibility(p, DEFAULT_THRESHOLDS, at(14), UTC_CALENDAR);
    expect(e).toMatchObject({ eligible: true, pastMax: true, lingering: true, overdue: false });
    expect(e.lingeringSince?.toISOString()).toBe('2026-01-15T00:00:00.000Z');
    expect(e.enforceDeadline?.toISOString()).toBe('2026-01-20T00:00:00.000Z');
    expect(e.recommendation).toBe('URGENT: move to enforcing before Tue 2026-01-20 00:00 UTC');
    const late = evaluateEligibility(p, DEFAULT_THRESHOLDS, new Date('2026-01-20T00:00:00Z'), UTC_CALENDAR);
    expect(late).toMatchObject({ overdue: true, recommendation: 'OVERDUE: move to enforcing now (deadline Tue 2026-01-20 00:00 UTC passed)' });
  });
  it('eligible only after day 14: the 3 business days run from the last moment it was seen not eligible', () => {
    const p = { ...base, minShadowDays: null, ineligibleSeenAt: new Date('2026-01-19T12:00:00Z') };
    const e = evaluateEligibility(p, DEFAULT_THRESHOLDS, at(19), UTC_CALENDAR);
    expect(e.lingeringSince?.toISOString()).toBe('2026-01-19T12:00:00.000Z');
    expect(e.enforceDeadline?.toISOString()).toBe('2026-01-22T12:00:00.000Z');
  });
  it('past 14 days with violations: URGENT, not lingering, no deadline', () => {
    const e = evaluateEligibility({ ...base, unresolved: 3, violations: 3, unreviewedFingerprints: 1, fingerprints: 1 }, DEFAULT_THRESHOLDS, at(15), UTC_CALENDAR);
    expect(e).toMatchObject({ pastMax: true, lingering: false, enforceDeadline: null, overdue: false, recommendation: 'URGENT: past 14 days, investigate violations' });
  });
  it('an unreviewed fingerprint blocks even when all violations are false positives', () => {
    const e = evaluateEligibility({ ...base, legacyOwner: false, minShadowDays: 7, violations: 3, unreviewedFingerprints: 1, fingerprints: 2 }, DEFAULT_THRESHOLDS, new Date('2026-01-09T00:00:00Z'), UTC_CALENDAR);
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

describe('row owners as shown', () => {
  it('shows no two owners alike: NULL bare, ordinary ids as they are, anything else quoted', () => {
    const owners = [null, 'NULL', '<null>', 'null', '', 'sm', 'a b', '"sm"', 'Ä'];
    const shown = owners.map(ownerLabel);
    expect(shown).toEqual(['NULL', '"NULL"', '<null>', 'null', '""', 'sm', '"a b"', '"\\"sm\\""', '"Ä"']);
    expect(new Set(shown).size).toBe(owners.length);
  });
});
