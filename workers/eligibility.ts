import type { Job } from 'bullmq';
import { withTransaction } from '../shared/db/pool.js';
import { loadStats } from '../shared/db/stats.js';
import { eligibilityMessage } from '../shared/notify/messages.js';
import { storeEligibility } from '../shared/db/eligibility-state.js';
import type { Runtime } from '../shared/jobs/runtime.js';
import { notify } from '../shared/notify/outbox.js';
import { jobId, QUEUE, type EligibilityJob } from '../shared/jobs/queues.js';
import { evaluateEligibility } from '../shared/domain/eligibility.js';

/** Recomputes a project's eligibility, stores it, and tells Slack when it flips. */
export function eligibilityProcessor(p: Runtime) {
  return async (job: Job<EligibilityJob>): Promise<boolean | null> => {
    const now = p.clock.now();
    const { projectId } = job.data;
    const result = await withTransaction(p.pool, async (c) => {
      const [s] = await loadStats(c, [projectId]);
      if (!s) return null;
      const e = evaluateEligibility(s, p.cfg.thresholds, now, p.cfg.holidays);
      const prev = await storeEligibility(c, projectId, e.eligible, e.reasons, now);
      return { s, e, prev };
    });
    if (!result) return null;
    const { s, e, prev } = result;
    if (prev !== e.eligible && (prev !== null || e.eligible)) {
      const epoch = s.shadowStartedAt?.getTime() ?? 0;
      await notify(p, `eligibility:${projectId}:${e.eligible}:${epoch}`, eligibilityMessage(projectId, e.eligible, e.reasons, p.cfg.dashboardUrl));
    }
    if (s.phase === 'shadow' && e.earliestEligibleAt && e.earliestEligibleAt > now) {
      // time alone will change the answer: look again then
      await p.queues[QUEUE.eligibility].add('recheck', { projectId }, {
        jobId: jobId('elig', projectId, e.earliestEligibleAt.getTime()),
        delay: e.earliestEligibleAt.getTime() - now.getTime(),
      });
    }
    return e.eligible;
  };
}
