import { getTimer, type Timer } from '../db/timers.js';
import { jobId, QUEUE } from './queues.js';
import type { Runtime } from './runtime.js';

const timerQueue = (t: Timer) => (t.kind === 'investigation' ? QUEUE.investigation : QUEUE.lingering);

/** The job that wakes a timer's worker: `key` makes it unique, `delay` (ms) holds it back. */
const wakeUpJob = (t: Timer, key: Array<string | number>, delay: number) => ({
  name: 'timer',
  data: { timerId: t.id },
  opts: { jobId: jobId(...key), delay },
});

const timerJob = (p: Runtime, t: Timer) =>
  wakeUpJob(t, ['timer', t.id, t.fired, t.due_at.getTime()], Math.max(0, t.due_at.getTime() - p.clock.now().getTime()));

/** A delayed job that wakes the timer's worker at the due time (the database holds the truth). */
export async function scheduleTimer(p: Runtime, t: Timer): Promise<void> {
  const j = timerJob(p, t);
  await p.queues[timerQueue(t)].add(j.name, j.data, j.opts);
}

/** After a clock jump (the demo's accelerated clock): wake every open timer that is now due. */
export async function wakeDueTimers(p: Runtime, timers: readonly Timer[]): Promise<number> {
  const now = p.clock.now();
  const due = timers.filter((t) => t.due_at <= now && !t.closed_at);
  for (const t of due) {
    const j = wakeUpJob(t, ['wake', t.id, t.fired, now.getTime()], 0);
    await p.queues[timerQueue(t)].add(j.name, j.data, j.opts);
  }
  return due.length;
}

/**
 * What a worker does first on a wake-up: the timer when it is open and due; 'closed' when it is no
 * longer open; 'early' when it is not due yet (a stale job: it is put back to sleep until due).
 */
export async function dueTimer(p: Runtime, timerId: number, now: Date): Promise<Timer | 'closed' | 'early'> {
  const timer = await getTimer(p.pool, timerId);
  if (!timer || timer.closed_at) return 'closed';
  if (timer.due_at > now) {
    await scheduleTimer(p, timer);
    return 'early';
  }
  return timer;
}
