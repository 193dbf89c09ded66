import { DAY } from '../clock.js';

function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

/** True on Monday to Friday (UTC) unless the date is in `holidays` (YYYY-MM-DD). */
export function isBusinessDay(d: Date, holidays: readonly string[]): boolean {
  const wd = d.getUTCDay();
  return wd !== 0 && wd !== 6 && !holidays.includes(isoDay(d));
}

/**
 * The moment `n` business days after `start`, at the same time of day: weekends and holidays are
 * skipped. Friday 10:00 + 3 = Wednesday 10:00.
 */
export function addBusinessDays(start: Date, n: number, holidays: readonly string[]): Date {
  let t = start.getTime();
  let left = n;
  while (left > 0) {
    t += DAY;
    if (isBusinessDay(new Date(t), holidays)) left -= 1;
  }
  return new Date(t);
}
