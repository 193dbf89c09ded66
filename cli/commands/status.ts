import type { Command } from 'commander';
import { parseNow, withDb } from '../context.js';
import { phaseColor, printJson, red, yellow } from '../output.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('every project, its phase and the days in it; OVERDUE past its enforcing deadline; deliveries in trouble; audit rows quarantined; for a project in shadow, the required coverage it has not exercised yet and its transactions that went unobserved (sessions without a recorder)')
    .option('--json', 'machine-readable output: {projects, deliveries, quarantine: {rows, newest_at, newest_error}}')
    .option('--now <iso>', 'count days up to this time')
    .action(async (o) => {
      const now = await parseNow(o.now);
      const { daysBetween, evaluateEligibility } = await import('../../shared/domain/eligibility.js');
      const { describePair, missingCoverage } = await import('../../shared/domain/coverage.js');
      const { loadStats } = await import('../../shared/db/stats.js');
      const { deliveryWarning } = await import('../../shared/db/notifications.js');
      const { quarantineSummary, quarantineWarning } = await import('../../shared/db/intake.js');
      const { stats, deliveries, quarantine, cfg } = await withDb(async (pool, cfg) => ({
        stats: await loadStats(pool), deliveries: await deliveryWarning(pool), quarantine: await quarantineSummary(pool), cfg,
      }));
      const rows = stats.map((s) => {
        const e = evaluateEligibility(s, cfg.thresholds, now, cfg.calendar);
        return {
          project_id: s.projectId,
          access_level: s.accessLevel,
          phase: s.phase,
          days_in_phase: daysBetween(s.updatedAt, now),
          shadow_started_at: s.shadowStartedAt,
          enforce_deadline: e.enforceDeadline,
          overdue: e.overdue,
          // required (project set --require-coverage) and not exercised in the current shadow window
          coverage_missing: s.phase === 'shadow' ? missingCoverage(s.coverage) : [],
          // transactions of the current shadow window in sessions without a recorder (not counted)
          unobserved: s.phase === 'shadow' ? s.unobserved : 0,
        };
      });
      if (o.json) return printJson({ projects: rows, deliveries, quarantine });
      for (const r of rows) {
        const deadline = r.enforce_deadline ? (r.overdue ? red(` OVERDUE since ${r.enforce_deadline.toISOString()}`) : ` enforce before ${r.enforce_deadline.toISOString()}`) : '';
        const missing = r.coverage_missing.length ? red(` coverage missing: ${r.coverage_missing.map(describePair).join(', ')}`) : '';
        const unobserved = r.unobserved ? yellow(` ${r.unobserved} unobserved transaction${r.unobserved === 1 ? '' : 's'} (no recorder)`) : '';
        console.log(`${r.project_id.padEnd(10)} ${r.access_level.padEnd(9)} ${phaseColor(r.phase)(r.phase.padEnd(9))} ${r.days_in_phase} day${r.days_in_phase === 1 ? '' : 's'}${deadline}${missing}${unobserved}`);
      }
      if (deliveries) console.log(red(deliveries));
      const quarantined = quarantineWarning(quarantine);
      if (quarantined) console.log(red(quarantined));
    });
}
