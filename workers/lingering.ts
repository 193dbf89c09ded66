import type { Job } from 'bullmq';
import { DAY, HOUR } from '../shared/clock.js';
import { closeTimer, findOpenTimer, openTimer, rescheduleTimer } from '../shared/db/timers.js';
import { loadStats } from '../shared/db/stats.js';
import { lingeringMessage } from '../shared/notify/messages.js';
import type { Runtime } from '../shared/jobs/runtime.js';
import { dueTimer, scheduleTimer } from '../shared/jobs/timers.js';
import { notify } from '../shared/notify/outbox.js';
import type { LingeringJob } from '../shared/jobs/queues.js';
import { evaluateEligibility } from '../shared/domain/eligibility.js';

/**
 * A project in shadow gets a timer at the maximum shadow duration. When it fires and the project
 * lingers (0 unresolved violations, enough transactions) the enforcing deadline is 3 business days
 * later; still in shadow at the deadline: Slack #devops and the leads' email, then daily.
 */
export function lingeringProcessor(p: Runtime) {
  const t = p.cfg.thresholds;
  return async (job: Job<LingeringJob>): Promise<string> => {
    const now = p.clock.now();
    if ('projectId' in job.data) {
      const [s] = await loadStats(p.pool, [job.data.projectId]);
      const open = await findOpenTimer(p.pool, 'lingering', job.data.projectId);
      if (!s || s.phase !== 'shadow' || !s.shadowStartedAt) {
        if (open) await closeTimer(p.pool, open.id, now);
        return 'not in shadow';
      }
      const due = new Date(s.shadowStartedAt.getTime() + t.maxShadowDays * DAY);
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
    if (!s || s.phase !== 'shadow') {
      await closeTimer(p.pool, timer.id, now);
      return 'moved on';
    }
    const e = evaluateEligibility(s, t, now, p.cfg.holidays);
    if (!e.lingering || !e.enforceDeadline) {
      const next = await rescheduleTimer(p.pool, timer, new Date(now.getTime() + t.reminderHours * HOUR), false);
      if (next) await scheduleTimer(p, next);
      return 'not lingering';
    }
    if (now < e.enforceDeadline) {
      const next = await rescheduleTimer(p.pool, timer, e.enforceDeadline, false);
      if (next) await scheduleTimer(p, next);
      return 'deadline set';
    }
    const next = await rescheduleTimer(p.pool, timer, new Date(now.getTime() + DAY), true);
    if (!next) return 'duplicate';
    await notify(p, `lingering:${s.projectId}:${timer.id}:${timer.fired}`,
      lingeringMessage(s.projectId, e.daysInShadow, s.transactions, e.enforceDeadline, timer.fired, p.cfg.dashboardUrl),
      [s.leadEmail, p.cfg.devopsEmail]);
    await scheduleTimer(p, next);
    return 'alerted';
  };
}
