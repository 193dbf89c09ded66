import type { Job } from 'bullmq';
import { withTransaction } from '../shared/db/pool.js';
import { loadStats } from '../shared/db/stats.js';
import { eligibilityMessage } from '../shared/notify/messages.js';
import { notify, type Pipeline } from '../shared/jobs/runtime.js';
import { jobId, QUEUE, type EligibilityJob } from '../shared/jobs/queues.js';
import { evaluateEligibility } from '../shared/domain/eligibility.js';

/** Recomputes a project's eligibility, stores it, and tells Slack when it flips. */
export function eligibilityProcessor(p: Pipeline) {
  return async (job: Job<EligibilityJob>): Promise<boolean | null> => {
    const now = p.clock.now();
    const { projectId } = job.data;
    const result = await withTransaction(p.pool, async (c) => {
      const [s] = await loadStats(c, [projectId]);
      if (!s) return null;
      const e = evaluateEligibility(s, p.cfg.thresholds, now, p.cfg.holidays);
      const { rows } = await c.query<{ prev: boolean | null }>(
        `WITH prev AS (SELECT eligible FROM shadowgate.eligibility_state WHERE project_id = $1 FOR UPDATE)
         INSERT INTO shadowgate.eligibility_state AS st (project_id, eligible, reasons, computed_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (project_id) DO UPDATE SET eligible = EXCLUDED.eligible, reasons = EXCLUDED.reasons, computed_at = EXCLUDED.computed_at
         RETURNING (SELECT eligible FROM prev) AS prev`,
        [projectId, e.eligible, JSON.stringify(e.reasons), now]);
      return { s, e, prev: rows[0].prev };
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
