import type { Job } from 'bullmq';
import { HOUR } from '../shared/clock.js';
import { withTransaction } from '../shared/db/pool.js';
import { closeTimer, getTimer, investigationTimers, rescheduleTimer } from '../shared/db/timers.js';
import { escalationMessage, violationDigest } from '../shared/notify/messages.js';
import { claimFingerprintsForWindow, fingerprintWithLead } from '../shared/db/violations.js';
import type { Runtime } from '../shared/jobs/runtime.js';
import { scheduleInvestigationTimers, scheduleTimer } from '../shared/jobs/timers.js';
import { enqueueNotification, notify, recordNotification } from '../shared/notify/outbox.js';
import type { InvestigationJob } from '../shared/jobs/queues.js';

/**
 * Fresh violations (a batch of unreviewed fingerprints): one real-time Slack message for those not
 * yet announced in the current window (floods become one digest; a fingerprint at most once per
 * window, with its running count), and an investigation for each, due 48 hours after its first
 * unreviewed occurrence. A timer that fires while the fingerprint is unreviewed escalates to the
 * lead (Slack and email), then reminds every 24 hours; a reviewed one closes quietly.
 */
export function investigationProcessor(p: Runtime) {
  const t = p.cfg.thresholds;
  return async (job: Job<InvestigationJob>): Promise<string> => {
    const now = p.clock.now();
    if ('fingerprintIds' in job.data) {
      const ids = job.data.fingerprintIds;
      // window 0: every batch announces every fingerprint it touched
      const windowMs = p.cfg.violationWindowSeconds * 1000;
      const window = windowMs > 0 ? Math.floor(now.getTime() / windowMs) : now.getTime();
      const notifications = await withTransaction(p.pool, async (c) => {
        const rows = await claimFingerprintsForWindow(c, ids, window);
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
    const f = await fingerprintWithLead(p.pool, Number(timer.subject));
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
