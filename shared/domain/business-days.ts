import { DateTime } from 'luxon';

/** Where business days are counted: a timezone (IANA name, e.g. "Europe/Berlin") and its holidays. */
export interface Calendar {
  timeZone: string;
  /** local dates (YYYY-MM-DD) that are not business days */
  holidays: readonly string[];
}

export const UTC_CALENDAR: Calendar = { timeZone: 'UTC', holidays: [] };

export function isValidTimeZone(zone: string): boolean {
  return DateTime.now().setZone(zone).isValid;
}

const local = (d: Date, cal: Calendar) => DateTime.fromJSDate(d, { zone: cal.timeZone });
const isBusinessLocal = (l: DateTime, cal: Calendar) => l.weekday <= 5 && !cal.holidays.includes(l.toISODate()!);

/** True on Monday to Friday in the calendar's timezone, unless the local date is a holiday. */
export function isBusinessDay(d: Date, cal: Calendar): boolean {
  return isBusinessLocal(local(d, cal), cal);
}

/**
 * The moment `n` business days after `start`, at the same local time of day (daylight saving time
 * changes keep the wall-clock time): weekends and holidays are skipped. Friday 10:00 + 3 = Wednesday 10:00.
 */
export function addBusinessDays(start: Date, n: number, cal: Calendar): Date {
  let l = local(start, cal);
  let left = n;
  while (left > 0) {
    l = l.plus({ days: 1 });
    if (isBusinessLocal(l, cal)) left -= 1;
  }
  return l.toJSDate();
}

/** How many business days have passed since `start` (the largest n with start + n business days <= now). */
export function businessDaysElapsed(start: Date, now: Date, cal: Calendar): number {
  let l = local(start, cal);
  for (let n = 0; ; n += 1) {
    do l = l.plus({ days: 1 });
    while (!isBusinessLocal(l, cal));
    if (l.toJSDate() > now) return n;
  }
}

/** "Wed 2026-12-02 09:00 Europe/Berlin": a moment as the calendar's people read it. */
export function formatLocal(d: Date, cal: Calendar): string {
  return `${local(d, cal).toFormat('ccc yyyy-LL-dd HH:mm')} ${cal.timeZone}`;
}
