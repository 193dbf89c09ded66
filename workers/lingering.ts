import type { Job } from 'bullmq';
import { HOUR } from '../shared/clock.js';
import { closeTimer, findOpenTimer, openTimer, rescheduleTimer } from '../shared/db/timers.js';
import { loadStats } from '../shared/db/stats.js';
import { lingeringMessage } from '../shared/notify/messages.js';
import type { Runtime } from '../shared/jobs/runtime.js';
import { dueTimer, scheduleTimer } from '../shared/jobs/timers.js';
import { notify } from '../shared/notify/outbox.js';
import { jobId, QUEUE, type LingeringJob } from '../shared/jobs/queues.js';
import { addBusinessDays, businessDaysElapsed } from '../shared/domain/business-days.js';
import { evaluateEligibility, pastMaxAt } from '../shared/domain/eligibility.js';

/**
 * The 14-day rule. A project in shadow gets a timer at the maximum shadow duration. Once the
 * project lingers (past the maximum with every exit criterion met; the eligibility worker wakes the
 * timer when that happens later) Slack #devops and the lead's and DEVOPS_EMAIL's inboxes get the
 * alert with the enforcing deadline (N business days later, in the configured timezone), then a
 * reminder each business day, a sharper alert when the deadline passes, and one each business day
 * after. Each message is keyed by its business day: a replayed or early wake-up sends nothing twice.
 */
export function lingeringProcessor(p: Runtime) {
  const t = p.cfg.thresholds;
  const cal = p.cfg.calendar;
  return async (job: Job<LingeringJob>): Promise<string> => {
    const now = p.clock.now();
    if ('projectId' in job.data) {
      const [s] = await loadStats(p.pool, [job.data.projectId]);
      const open = await findOpenTimer(p.pool, 'lingering', job.data.projectId);
      if (!s || s.phase !== 'shadow' || !s.shadowStartedAt) {
        if (open) await closeTimer(p.pool, open.id, now);
        return 'not in shadow';
      }
      const due = pastMaxAt(s.shadowStartedAt, t);
      let timer = await openTimer(p.pool, 'lingering', s.projectId, s.projectId, s.shadowStartedAt, due);
      if (timer.opened_at.getTime() !== s.shadowStartedAt.getTime()) {
        // the clock was reset: a new shadow period, a new timer
        await closeTimer(p.pool, timer.id, now);
        timer = await openTimer(p.pool, 'lingering', s.projectId, s.projectId, s.shadowStartedAt, due);
      }
      await scheduleTimer(p, timer);
      return 'scheduled';
    }
    const timer = await dueTimer(p, job.data.timerId, now);
    if (typeof timer === 'string') return timer;
    const [s] = await loadStats(p.pool, [timer.project_id]);
    if (!s || s.phase !== 'shadow' || s.shadowStartedAt?.getTime() !== timer.opened_at.getTime()) {
      await closeTimer(p.pool, timer.id, now);
      if (s?.phase === 'shadow') await requestLingeringTimer(p, s.projectId, now);
      return 'moved on';
    }
    const e = evaluateEligibility(s, t, now, cal);
    if (!e.lingering || !e.lingeringSince || !e.enforceDeadline) {
      // not past the maximum yet (a stale timer), or not every criterion is met: look again in a
      // while (the eligibility worker wakes the timer as soon as the project is eligible)
      const maxAt = pastMaxAt(s.shadowStartedAt, t);
      const next = await rescheduleTimer(p.pool, timer, now < maxAt ? maxAt : new Date(now.getTime() + t.reminderHours * HOUR), false);
      if (next) await scheduleTimer(p, next);
      return 'not lingering';
    }
    const day = businessDaysElapsed(e.lingeringSince, now, cal);
    const next = await rescheduleTimer(p.pool, timer, addBusinessDays(e.lingeringSince, day + 1, cal), true);
    if (!next) return 'duplicate';
    await notify(p, `lingering:${s.projectId}:${e.lingeringSince.getTime()}:${day}`,
      lingeringMessage({
        projectId: s.projectId, days: e.daysInShadow, transactions: s.transactions, since: e.lingeringSince,
        deadline: e.enforceDeadline, day, withinBusinessDays: t.enforceWithinBusinessDays, maxShadowDays: t.maxShadowDays, calendar: cal,
        lead: s.leadSlack ?? s.leadEmail ?? `${s.projectId} lead`, dashboardUrl: p.cfg.dashboardUrl,
      }),
      [s.leadEmail, p.cfg.devopsEmail]);
    await scheduleTimer(p, next);
    return e.overdue ? 'overdue' : day === 0 ? 'alerted' : 'reminded';
  };
}

/** Asks the lingering worker to open the project's lingering timer for its current shadow window (once per `now`). */
export async function requestLingeringTimer(p: Runtime, projectId: string, now: Date): Promise<void> {
  await p.queues[QUEUE.lingering].add('open', { projectId }, { jobId: jobId('linger-open', projectId, now.getTime()) });
}
