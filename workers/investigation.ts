import type { Job } from 'bullmq';
import { HOUR } from '../shared/clock.js';
import { withTransaction } from '../shared/db/pool.js';
import { closeTimers, fireTimers, lockDueInvestigations, type DueInvestigation } from '../shared/db/timers.js';
import { escalationDigest, escalationMessage } from '../shared/notify/messages.js';
import type { FingerprintWithLead } from '../shared/db/violations.js';
import type { Runtime } from '../shared/jobs/runtime.js';
import { enqueueNotification, recordNotification } from '../shared/notify/outbox.js';
import type { InvestigationJob } from '../shared/jobs/queues.js';

/**
 * Investigations (opened by the producer when it announces a violation, due 48 hours after the
 * fingerprint's first unreviewed occurrence). Timers that come due (the workers' sweep wakes them,
 * `{ timerIds }`) while the fingerprint is unreviewed escalate to the lead (Slack and email; those
 * of one project due together in one message), then remind every 24 hours; a reviewed one closes
 * quietly. The firing and its messages are one transaction: a crash in between loses neither.
 */
export function investigationProcessor(p: Runtime) {
  const t = p.cfg.thresholds;
  return async (job: Job<InvestigationJob>): Promise<string> => {
    const now = p.clock.now();
    const ids = 'timerIds' in job.data ? job.data.timerIds : [job.data.timerId];
    const notifications = await withTransaction(p.pool, async (c) => {
      // locked with SKIP LOCKED and due-checked: copies of one wake-up fire a timer once
      const due = await lockDueInvestigations(c, ids, now);
      await closeTimers(c, due.filter((d) => !d.open_since).map((d) => d.timer_id), now);
      const open = due.filter((d): d is DueInvestigation & FingerprintWithLead => !!d.open_since && d.id !== null);
      await fireTimers(c, open.map((d) => d.timer_id), new Date(now.getTime() + t.reminderHours * HOUR));
      const byProject = new Map<string, typeof open>();
      for (const d of open) byProject.set(d.project_id, [...(byProject.get(d.project_id) ?? []), d]);
      const made: number[] = [];
      for (const [projectId, group] of byProject) {
        const f = group[0]!;
        const lead = f.lead_slack ?? f.lead_email ?? `${projectId} lead`;
        // one fingerprint: its own message; many due together (a flood's): one digest per lead
        const [key, msg] = group.length === 1
          ? [`escalation:${f.id}:${f.timer_id}:${f.fired}`, escalationMessage(f, t.investigationHours, f.fired, lead, now, p.cfg.dashboardUrl)]
          : [`escalation:${projectId}:${group.map((d) => `${d.timer_id}.${d.fired}`).join(',')}`, escalationDigest(projectId, group, lead, t.investigationHours, p.cfg.dashboardUrl)];
        made.push(...await recordNotification(p, c, key, msg, [f.lead_email]));
      }
      return made;
    });
    for (const id of notifications) await enqueueNotification(p, id);
    return notifications.length ? 'escalated' : 'nothing due';
  };
}
