import type { Job } from 'bullmq';
import { withTransaction } from '../shared/db/pool.js';
import { findOpenTimer, rescheduleTimer } from '../shared/db/timers.js';
import { loadStats } from '../shared/db/stats.js';
import { storeEligibility } from '../shared/db/eligibility-state.js';
import { forcedMoveKey, unannouncedForcedMoves } from '../shared/db/history.js';
import { eligibilityMessage, forcedMoveMessage } from '../shared/notify/messages.js';
import type { Runtime } from '../shared/jobs/runtime.js';
import { scheduleTimer } from '../shared/jobs/timers.js';
import { notify } from '../shared/notify/outbox.js';
import type { EligibilityJob } from '../shared/jobs/queues.js';
import { evaluateEligibility } from '../shared/domain/eligibility.js';
import { requestLingeringTimer } from './lingering.js';

/**
 * Recomputes a project's eligibility and stores it with the shadow window it belongs to and, when
 * not eligible, the moment it was seen so (the 14-day rule counts its business days from the last
 * such moment, or from day 14).
 * Announces, once per shadow window, that the project became eligible (by days, transactions or a
 * review: whatever made the last criterion true) or stopped being so; announces every forced phase
 * change with its actor and reason; wakes the lingering timer when the project starts lingering.
 * Transactions counted by the database and the passing of days raise no event: the workers'
 * reconciliation (shared/jobs/sweep.ts) runs this for every project in shadow every minute.
 */
export function eligibilityProcessor(p: Runtime) {
  const t = p.cfg.thresholds;
  return async (job: Job<EligibilityJob>): Promise<boolean | null> => {
    const now = p.clock.now();
    const { projectId } = job.data;
    const result = await withTransaction(p.pool, async (c) => {
      const [s] = await loadStats(c, [projectId]);
      if (!s) return null;
      const e = evaluateEligibility(s, t, now, p.cfg.calendar);
      const window = s.phase === 'shadow' ? s.shadowStartedAt : null;
      const prev = await storeEligibility(c, projectId, e.eligible, e.reasons, now, window);
      return { s, e, window, prev, forced: await unannouncedForcedMoves(c, projectId) };
    });
    if (!result) return null;
    const { s, e, window, prev, forced } = result;
    for (const f of forced) {
      const unmet = (f.evidence?.criteria ?? []).filter((x) => !x.met).map((x) => x.line);
      await notify(p, forcedMoveKey(f.id), forcedMoveMessage(projectId, f.from_phase ?? '-', f.to_phase, f.actor, f.reason ?? '-', f.at, unmet, p.cfg.dashboardUrl),
        [s.leadEmail, p.cfg.devopsEmail]);
    }
    if (window && prev !== e.eligible && (prev !== null || e.eligible)) {
      // once per shadow window and direction, however often it flaps or the job is replayed
      await notify(p, `eligibility:${projectId}:${e.eligible}:${window.getTime()}`,
        eligibilityMessage(projectId, e.eligible, e.eligible ? e.criteria.map((c) => c.line) : e.reasons, p.cfg.dashboardUrl));
    }
    if (e.lingering) await wakeLingering(p, projectId, now);
    return e.eligible;
  };
}

/** A project that starts lingering is alerted at once: its lingering timer, not alerted yet, is due now. */
async function wakeLingering(p: Runtime, projectId: string, now: Date): Promise<void> {
  const timer = await findOpenTimer(p.pool, 'lingering', projectId);
  if (!timer) {
    await requestLingeringTimer(p, projectId, now);
    return;
  }
  if (timer.fired > 0 || timer.due_at <= now) return;
  const due = await rescheduleTimer(p.pool, timer, now, false);
  if (due) await scheduleTimer(p, due);
}
