import type { Command } from 'commander';
import { parseNow, withDb } from '../context.js';
import { ok, printJson, red, stamp } from '../output.js';

export function registerCheckDuration(program: Command): void {
  program
    .command('check-duration')
    .description('projects past the maximum shadow duration, their enforcing deadline, OVERDUE past it; exit 1 when any')
    .option('--now <iso>', 'evaluate at this time')
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const now = await parseNow(o.now);
      const { absorbAndLoadStats } = await import('../../shared/db/stats.js');
      const { evaluateEligibility } = await import('../../shared/domain/eligibility.js');
      const { formatLocal } = await import('../../shared/domain/business-days.js');
      const { alerts, max } = await withDb(async (pool, cfg) => {
        const stats = await absorbAndLoadStats(pool);
        const alerts = stats
          .filter((s) => s.phase === 'shadow')
          .map((s) => ({ s, e: evaluateEligibility(s, cfg.thresholds, now, cfg.calendar) }))
          .filter(({ e }) => e.pastMax)
          .map(({ s, e }) => ({
            project_id: s.projectId,
            access_level: s.accessLevel,
            days_in_shadow: e.daysInShadow,
            violation_count: s.violations,
            unresolved_count: s.unresolved,
            transaction_count: s.transactions,
            must_enforce: e.lingering,
            lingering_since: e.lingeringSince?.toISOString() ?? null,
            enforce_deadline: e.enforceDeadline?.toISOString() ?? null,
            overdue: e.overdue,
            action: e.overdue
              ? `OVERDUE: the enforcing deadline (${formatLocal(e.enforceDeadline!, cfg.calendar)}) has passed; move to enforcing now`
              : e.lingering
                ? `Move to enforcing before ${formatLocal(e.enforceDeadline!, cfg.calendar)} (${cfg.thresholds.enforceWithinBusinessDays} business days after ${formatLocal(e.lingeringSince!, cfg.calendar)})`
                : e.recommendation,
          }));
        return { alerts, max: cfg.thresholds.maxShadowDays };
      });
      if (o.json) printJson({ max_shadow_days: max, alerts });
      else if (alerts.length === 0) console.log(ok('No projects exceeding maximum shadow duration'));
      else {
        console.log(red(`⚠ ALERT: ${alerts.length} project(s) exceeding maximum shadow duration (${max} days)`));
        for (const a of alerts) {
          console.log(`\nProject: ${a.project_id} (${a.access_level})${a.overdue ? red(' OVERDUE') : ''}`);
          console.log(`  Days in Shadow: ${a.days_in_shadow}`);
          console.log(`  Violations: ${a.violation_count} (unresolved: ${a.unresolved_count})`);
          console.log(`  Transactions: ${a.transaction_count}`);
          console.log(`  Action: ${a.action}`);
          if (a.enforce_deadline) console.log(`  Deadline: ${stamp(new Date(a.enforce_deadline))}`);
        }
      }
      if (alerts.length) process.exitCode = 1;
    });
}
