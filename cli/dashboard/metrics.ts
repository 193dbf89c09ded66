import { Gauge, Registry } from 'prom-client';
import type { Queue } from 'bullmq';
import type { DashboardState } from './state.js';
import { notificationCounts } from '../../shared/db/notifications.js';
import type { Queryable } from '../../shared/db/pool.js';
import { PHASES } from '../../shared/domain/phase.js';

/**
 * Prometheus metrics: per-project gauges from the dashboard state given to `render`, notification
 * counts from the database and, when given, queue depths, collected at scrape time.
 */
export function createMetrics(db: Queryable, queues?: Record<string, Queue>) {
  const registry = new Registry();
  let current: DashboardState | undefined;
  const perProject = (name: string, help: string, pick: (p: DashboardState['projects'][number]) => number) =>
    new Gauge({
      name, help, labelNames: ['project'], registers: [registry],
      collect() {
        this.reset();
        for (const p of current?.projects ?? []) this.set({ project: p.project_id }, pick(p));
      },
    });
  new Gauge({
    name: 'shadowgate_project_phase', help: '1 for the phase a project is in', labelNames: ['project', 'phase'], registers: [registry],
    collect() {
      this.reset();
      if (!current) return;
      for (const p of current.projects) for (const ph of PHASES) this.set({ project: p.project_id, phase: ph }, p.phase === ph ? 1 : 0);
    },
  });
  perProject('shadowgate_days_in_shadow', 'days on the shadow clock', (p) => p.days_in_shadow);
  perProject('shadowgate_transactions', 'transactions counted since the shadow clock started', (p) => p.transactions);
  perProject('shadowgate_unobserved_transactions', 'transactions since the shadow clock started in sessions without a recorder (not counted, would-be denials not recorded)', (p) => p.unobserved);
  perProject('shadowgate_violations', 'would-be denied row accesses since the shadow clock started', (p) => p.violations);
  perProject('shadowgate_unreviewed_violations', 'violation fingerprints not reviewed', (p) => p.unreviewed);
  perProject('shadowgate_eligible', '1 when all exit criteria hold', (p) => (p.eligible ? 1 : 0));
  perProject('shadowgate_coverage_missing', 'required table/operation pairs not exercised in the shadow window (project set --require-coverage)', (p) => p.coverage?.missing.length ?? 0);
  new Gauge({
    name: 'shadowgate_open_investigations', help: 'open investigations (timers of unreviewed fingerprints)', labelNames: ['project'], registers: [registry],
    collect() {
      this.reset();
      for (const p of current?.projects ?? []) {
        this.set({ project: p.project_id }, current!.timers.filter((t) => t.kind === 'investigation' && t.project_id === p.project_id).length);
      }
    },
  });
  new Gauge({
    name: 'shadowgate_audit_quarantined', help: 'audit inbox rows the intake could not absorb (shadowgate.audit_quarantine)', registers: [registry],
    collect() {
      this.set(current?.quarantined ?? 0);
    },
  });
  new Gauge({
    name: 'shadowgate_notifications', help: 'notifications by channel and status', labelNames: ['channel', 'status'], registers: [registry],
    async collect() {
      this.reset();
      for (const r of await notificationCounts(db)) this.set({ channel: r.channel, status: r.status }, r.n);
    },
  });
  if (queues) {
    new Gauge({
      name: 'shadowgate_queue_jobs', help: 'jobs per queue and state', labelNames: ['queue', 'state'], registers: [registry],
      async collect() {
        this.reset();
        for (const [name, q] of Object.entries(queues)) {
          const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'failed');
          for (const [st, n] of Object.entries(counts)) this.set({ queue: name, state: st }, n);
        }
      },
    });
  }
  return {
    registry,
    /** the Prometheus text for this state */
    async render(state: DashboardState): Promise<string> {
      current = state;
      return registry.metrics();
    },
  };
}
