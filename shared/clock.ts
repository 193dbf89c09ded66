import { DateTime } from 'luxon';
import { InputError } from './errors.js';

/** Time is an input: every rule takes a Clock, so tests and `--now` never wait. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/** A clock standing at a given time; `advance` moves it (tests, the demo's accelerated rollout). */
export class ManualClock implements Clock {
  private t: number;
  constructor(start: Date) {
    this.t = start.getTime();
  }
  now(): Date {
    return new Date(this.t);
  }
  set(at: Date): void {
    this.t = at.getTime();
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

const COMPLETE_ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-](0\d|1[0-4]):[0-5]\d)$/;

/**
 * A complete ISO 8601 timestamp (date, time to the second, offset), e.g. 2026-01-31T12:00:00Z or
 * 2026-01-31T13:00:00+01:00; anything else (a bare number, a date alone, 2026-02-30) is an
 * InputError naming `what`.
 */
export function parseTimestamp(text: string, what: string): Date {
  const t = COMPLETE_ISO.test(text) ? DateTime.fromISO(text, { setZone: true }) : undefined;
  if (!t?.isValid) {
    throw new InputError(`${what}: "${text}" is not a complete ISO 8601 timestamp (e.g. 2026-01-31T12:00:00Z)`);
  }
  return t.toJSDate();
}
