import type { Job } from 'bullmq';
import { HOUR } from '../shared/clock.js';
import { withTransaction } from '../shared/db/pool.js';
import { closeTimer, getTimer, investigationTimers, rescheduleTimer } from '../shared/db/timers.js';
import { escalationMessage, violationDigest, type FingerprintInfo } from '../shared/notify/messages.js';
import { enqueueNotification, notify, recordNotification, scheduleInvestigationTimers, scheduleTimer, type Pipeline } from '../shared/jobs/runtime.js';
import type { InvestigationJob } from '../shared/jobs/queues.js';

interface FingerprintRow extends FingerprintInfo {
  open_since: Date | null;
  lead_email: string | null;
  lead_slack: string | null;
}

const FINGERPRINT = `v.id, v.project_id, v.table_name, v.operation, v.row_project_id, v.denied_reason, v.occurrences,
                     v.first_seen, v.open_since, g.lead_email, g.lead_slack`;

/**
 * Fresh violations (a batch of unreviewed fingerprints): one real-time Slack message for those not
 * yet announced in the current window (floods become one digest; a fingerprint at most once per
 * window, with its running count), and an investigation for each, due 48 hours after its first
 * unreviewed occurrence. A timer that fires while the fingerprint is unreviewed escalates to the
 * lead (Slack and email), then reminds every 24 hours; a reviewed one closes quietly.
 */
export function investigationProcessor(p: Pipeline) {
  const t = p.cfg.thresholds;
  return async (job: Job<InvestigationJob>): Promise<string> => {
    const now = p.clock.now();
    if ('fingerprintIds' in job.data) {
      const ids = job.data.fingerprintIds;
      // window 0: every batch announces every fingerprint it touched
      const windowMs = p.cfg.violationWindowSeconds * 1000;
      const window = windowMs > 0 ? Math.floor(now.getTime() / windowMs) : now.getTime();
      const notifications = await withTransaction(p.pool, async (c) => {
        // claim the fingerprints for this window: a retried or replayed job announces nothing twice
        const { rows } = await c.query<FingerprintRow>(
          `UPDATE shadowgate.violation_fingerprints v SET notified_window = $2
             FROM shadowgate.violation_fingerprints f
             LEFT JOIN shadowgate.project_registry g ON g.project_id = f.project_id
            WHERE v.id = f.id AND v.open_since IS NOT NULL AND v.notified_window IS DISTINCT FROM $2
              AND v.id IN (SELECT id FROM shadowgate.violation_fingerprints WHERE id = ANY ($1)
                            ORDER BY fingerprint FOR UPDATE) -- the lock order of absorb_audit()
           RETURNING ${FINGERPRINT}`, [ids, window]);
        if (rows.length === 0) return [];
        rows.sort((a, b) => a.id - b.id);
        // the key names each fingerprint at its count: a replay of the same news is not news
        const key = `violations:${windowMs > 0 ? window : 'each'}:${rows.map((r) => `${r.id}.${r.occurrences}`).join(',')}`;
        return recordNotification(p, c, key, violationDigest(rows, p.cfg.dashboardUrl));
      });
      for (const id of notifications) await enqueueNotification(p, id);
      await scheduleInvestigationTimers(p, await investigationTimers(p.pool, ids, t.investigationHours, now));
      return notifications.length ? 'announced' : 'quiet';
    }
    const timer = await getTimer(p.pool, job.data.timerId);
    if (!timer || timer.closed_at) return 'closed';
    if (timer.due_at > now) {
      await scheduleTimer(p, timer); // woke early (a stale job): sleep again
      return 'early';
    }
    const f = (await p.pool.query<FingerprintRow>(
      `SELECT ${FINGERPRINT} FROM shadowgate.violation_fingerprints v
         LEFT JOIN shadowgate.project_registry g ON g.project_id = v.project_id WHERE v.id = $1`, [Number(timer.subject)])).rows[0];
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
