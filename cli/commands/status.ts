import type { Command } from 'commander';
import { daysBetween } from '../../shared/domain/eligibility.js';
import { loadStats } from '../../shared/db/stats.js';
import { parseNow, withDb } from '../context.js';
import { deliveryWarning } from '../../shared/db/notifications.js';
import { phaseColor, printJson, red } from '../output.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description('every project, its phase and the days in it')
    .option('--json', 'machine-readable output')
    .option('--now <iso>', 'count days up to this time')
    .action(async (o) => {
      const now = parseNow(o.now);
      const [stats, deliveries] = await withDb(async (pool) => [await loadStats(pool), await deliveryWarning(pool)] as const);
      const rows = stats.map((s) => ({
        project_id: s.projectId,
        access_level: s.accessLevel,
        phase: s.phase,
        days_in_phase: daysBetween(s.updatedAt, now),
        shadow_started_at: s.shadowStartedAt,
      }));
      if (o.json) return printJson(rows);
      for (const r of rows) {
        console.log(`${r.project_id.padEnd(10)} ${r.access_level.padEnd(9)} ${phaseColor(r.phase)(r.phase.padEnd(9))} ${r.days_in_phase} day${r.days_in_phase === 1 ? '' : 's'}`);
      }
      if (deliveries) console.log(red(deliveries));
    });
}
