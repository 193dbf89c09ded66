import type { Timer } from '../db/timers.js';
import { jobId, QUEUE } from './queues.js';
import type { Runtime } from './runtime.js';

const timerQueue = (t: Timer) => (t.kind === 'investigation' ? QUEUE.investigation : QUEUE.lingering);

const timerJob = (p: Runtime, t: Timer) => ({
  name: 'timer',
  data: { timerId: t.id },
  opts: { jobId: jobId('timer', t.id, t.fired, t.due_at.getTime()), delay: Math.max(0, t.due_at.getTime() - p.clock.now().getTime()) },
});

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
    await p.queues[timerQueue(t)].add('timer', { timerId: t.id }, { jobId: jobId('wake', t.id, t.fired, now.getTime()) });
  }
  return due.length;
}
