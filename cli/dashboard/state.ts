import { deliveryWarning } from '../../shared/db/notifications.js';
import { quarantineSummary, quarantineWarning } from '../../shared/db/intake.js';
import type { Config } from '../../shared/config.js';
import type { Queryable } from '../../shared/db/pool.js';
import { doctorWarning } from '../../shared/db/doctor.js';
import { absorbAndLoadStats } from '../../shared/db/stats.js';
import { describedOpenTimers } from '../../shared/db/timers.js';
import { dailyViolations } from '../../shared/db/violations.js';
import { DAY, HOUR } from '../../shared/clock.js';
import { evaluateEligibility } from '../../shared/domain/eligibility.js';
import { ownerLabel } from '../../shared/domain/owner.js';
import { describePair, OPERATIONS } from '../../shared/domain/coverage.js';
import { coverageCellText, coverageReport } from '../../shared/domain/report.js';

export interface DashboardState {
  generated_at: string;
  projects: Array<{
    project_id: string;
    access_level: string;
    phase: string;
    days_in_shadow: number;
    min_shadow_days: number;
    transactions: number;
    min_transactions: number;
    /** in shadow: transactions of the window in sessions without a recorder (not in `transactions`) */
    unobserved: number;
    violations: number;
    unresolved: number;
    fingerprints: number;
    unreviewed: number;
    eligible: boolean;
    recommendation: string | null;
    enforce_deadline: string | null;
    /** past the enforcing deadline */
    overdue: boolean;
    /**
     * in shadow: every protected table with a cell per operation (SELECT, INSERT, UPDATE, DELETE) as
     * the report writes it (transactions in the window, MISSING, –); the required pairs missing
     */
    coverage: { tables: Array<{ table: string; touched: boolean; cells: string[] }>; missing: string[] } | null;
  }>;
  /**
   * Open investigations and enforcing deadlines. `deadline` is the rule's (an investigation's
   * hours after the first unreviewed occurrence; a lingering project's enforce-by, the same as its
   * status); `next_alert` is when the next escalation or reminder goes out.
   */
  timers: Array<{ kind: string; project_id: string; deadline: string; ms_left: number; overdue: boolean; next_alert: string; fired: number; about: string }>;
  daily: Array<{ day: string; project_id: string; occurrences: number }>;
  /** routes around the policies that `shadowgate doctor` finds, as one line (null: none) */
  doctor_warning: string | null;
  /** notifications failed for good or being retried, as one line (null: none) */
  delivery_warning: string | null;
  /** audit inbox rows the intake could not absorb (shadowgate.audit_quarantine) */
  quarantined: number;
  /** the same, with the newest error, as one line (null: none) */
  quarantine_warning: string | null;
}

function dashboardCoverage(c: ReturnType<typeof coverageReport>): NonNullable<DashboardState['projects'][number]['coverage']> {
  return {
    tables: c.tables.map((t) => ({ table: t.table, touched: t.touched, cells: OPERATIONS.map((op) => coverageCellText(t.operations[op])) })),
    missing: c.missing.map(describePair),
  };
}

/**
 * Everything the dashboard and /metrics show, read from counters after absorbing the audit inbox
 * (a write: every page, state and metrics request empties the inbox first).
 */
export async function absorbAndReadDashboardState(db: Queryable, cfg: Config, now: Date): Promise<DashboardState> {
  const stats = await absorbAndLoadStats(db);
  const timers = await describedOpenTimers(db);
  const daily = await dailyViolations(db, new Date(now.getTime() - 30 * DAY));
  const doctor_warning = await doctorWarning(db, cfg.doctorAllowRoles);
  const delivery_warning = await deliveryWarning(db);
  const quarantine = await quarantineSummary(db);
  const enforceBy = new Map<string, Date>();
  return {
    generated_at: now.toISOString(),
    projects: stats.map((s) => {
      const e = evaluateEligibility(s, cfg.thresholds, now, cfg.calendar);
      if (e.enforceDeadline) enforceBy.set(s.projectId, e.enforceDeadline);
      return {
        project_id: s.projectId,
        access_level: s.accessLevel,
        phase: s.phase,
        days_in_shadow: e.daysInShadow,
        min_shadow_days: e.minShadowDays,
        transactions: s.phase === 'shadow' ? s.transactions : 0,
        min_transactions: cfg.thresholds.minTransactions,
        unobserved: s.phase === 'shadow' ? s.unobserved : 0,
        violations: s.violations,
        unresolved: s.unresolved,
        fingerprints: s.fingerprints,
        unreviewed: s.unreviewedFingerprints,
        eligible: e.eligible,
        recommendation: s.phase === 'shadow' ? e.recommendation : null,
        enforce_deadline: e.enforceDeadline?.toISOString() ?? null,
        overdue: e.overdue,
        coverage: s.phase === 'shadow' ? dashboardCoverage(coverageReport(s.coverage)) : null,
      };
    }),
    timers: timers.map((t) => {
      const deadline = t.kind === 'investigation'
        ? new Date(t.opened_at.getTime() + cfg.thresholds.investigationHours * HOUR)
        : enforceBy.get(t.project_id) ?? t.due_at;
      return {
        kind: t.kind,
        project_id: t.project_id,
        deadline: deadline.toISOString(),
        ms_left: deadline.getTime() - now.getTime(),
        overdue: deadline <= now,
        next_alert: t.due_at.toISOString(),
        fired: t.fired,
        about: t.kind === 'investigation'
          ? `#${t.fingerprint_id} ${t.operation} ${t.table_name} owner ${ownerLabel(t.row_project_id)} (${t.denied_reason}), ${t.occurrences} rows`
          : 'move to enforcing',
      };
    }),
    daily,
    doctor_warning,
    delivery_warning,
    quarantined: quarantine.rows,
    quarantine_warning: quarantineWarning(quarantine),
  };
}
