import type { Job } from 'bullmq';
import { HOUR } from '../shared/clock.js';
import { closeTimer, getTimer, openTimer, rescheduleTimer } from '../shared/db/timers.js';
import { escalationMessage, violationMessage, type FingerprintInfo } from '../shared/notify/messages.js';
import { notify, scheduleTimer, type Pipeline } from '../shared/pipeline.js';
import type { InvestigationJob } from '../shared/queues.js';

interface FingerprintRow extends FingerprintInfo {
  open_since: Date | null;
  lead_email: string | null;
  lead_slack: string | null;
}

async function loadFingerprint(p: Pipeline, id: number): Promise<FingerprintRow | undefined> {
  return (await p.pool.query<FingerprintRow>(
    `SELECT v.id, v.project_id, v.table_name, v.operation, v.row_project_id, v.denied_reason, v.occurrences,
            v.first_seen, v.open_since, g.lead_email, g.lead_slack
       FROM shadowgate.violation_fingerprints v
       LEFT JOIN shadowgate.project_registry g ON g.project_id = v.project_id
      WHERE v.id = $1`, [id])).rows[0];
}

/**
 * A new or reopened fingerprint: a real-time Slack message (at most one per fingerprint per window,
 * with the running count) and an investigation due 48 hours after it was first seen. A timer that
 * fires while the fingerprint is unreviewed escalates to the lead, then reminds every 24 hours.
 */
export function investigationProcessor(p: Pipeline) {
  const t = p.cfg.thresholds;
  return async (job: Job<InvestigationJob>): Promise<string> => {
    const now = p.clock.now();
    if ('fingerprintId' in job.data) {
      const f = await loadFingerprint(p, job.data.fingerprintId);
      if (!f) return 'gone';
      const window = Math.floor(now.getTime() / (p.cfg.violationWindowSeconds * 1000));
      await notify(p, `violation:${f.id}:${window}`, violationMessage(f, p.cfg.dashboardUrl));
      if (f.open_since) {
        const timer = await openTimer(p.pool, 'investigation', String(f.id), f.project_id, f.open_since,
          new Date(f.open_since.getTime() + t.investigationHours * HOUR));
        await scheduleTimer(p, timer);
      }
      return 'notified';
    }
    const timer = await getTimer(p.pool, job.data.timerId);
    if (!timer || timer.closed_at) return 'closed';
    if (timer.due_at > now) {
      await scheduleTimer(p, timer); // woke early (a stale job): sleep again
      return 'early';
    }
    const f = await loadFingerprint(p, Number(timer.subject));
    if (!f || !f.open_since) {
      await closeTimer(p.pool, timer.id, now);
      return 'reviewed';
    }
    const next = await rescheduleTimer(p.pool, timer, new Date(now.getTime() + t.reminderHours * HOUR), true);
    if (!next) return 'duplicate';
    const lead = f.lead_slack ?? f.lead_email ?? `${f.project_id} lead`;
    await notify(p, `escalation:${f.id}:${timer.id}:${timer.fired}`, escalationMessage(f, timer.due_at, timer.fired, lead, p.cfg.dashboardUrl), [f.lead_email]);
    await scheduleTimer(p, next);
    return 'escalated';
  };
}
