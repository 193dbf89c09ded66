import type { Command } from 'commander';
import { InputError } from '../../shared/errors.js';
import { parseNow, withDb } from '../context.js';
import { bold, green, printJson, red, day, yellow } from '../output.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('exit criteria of every project in shadow: ELIGIBLE / NOT ELIGIBLE and what to do, the transactions that went unobserved (sessions without a recorder), and its coverage: transactions per protected table and operation in the shadow window, tables never touched, required operations missing (project set --require-coverage)')
    .option('--project <id>', 'one project')
    .option('--json', 'the seed\'s JSON shape, extended')
    .option('--markdown', 'Markdown')
    .option('--now <iso>', 'evaluate at this time')
    .action(async (o) => {
      if (o.json && o.markdown) throw new InputError('choose one of --json and --markdown');
      const now = await parseNow(o.now);
      const { requireProjects } = await import('../../shared/db/projects.js');
      const { absorbAndLoadStats } = await import('../../shared/db/stats.js');
      const { buildReport, coverageLines, reportMarkdown, unobservedLine } = await import('../../shared/domain/report.js');
      const { doctorWarning } = await import('../../shared/db/doctor.js');
      const [report, warning] = await withDb(async (pool, cfg) => {
        if (o.project) await requireProjects(pool, [o.project]);
        const r = buildReport(await absorbAndLoadStats(pool, o.project ? [o.project] : undefined), cfg, now);
        return [r, await doctorWarning(pool, cfg.doctorAllowRoles)] as const;
      });
      if (o.json) printJson({ ...report, doctor_warning: warning });
      else if (o.markdown) console.log(reportMarkdown(report) + (warning ? `\n> ${warning}\n` : ''));
      else {
        if (report.total_projects === 0) console.log('No projects in shadow');
        for (const [id, p] of Object.entries(report.projects)) {
          console.log(bold(`${id} (${p.access_level}) ${p.eligible ? green('ELIGIBLE') : red('NOT ELIGIBLE')}${p.overdue ? red(' OVERDUE') : ''}`));
          for (const c of p.criteria) console.log(`  ${c.line}${c.met_at ? ` (earliest: ${day(new Date(c.met_at))})` : ''}`);
          const unobserved = unobservedLine(p.unobserved_count);
          console.log(`  ${p.unobserved_count ? yellow(unobserved) : unobserved}`);
          console.log(`  Unreviewed: ${p.unreviewed_count}`);
          console.log(`  Recommendation: ${p.recommendation}`);
          if (p.enforce_deadline) console.log(`  ${p.overdue ? 'OVERDUE: enforcing deadline passed' : 'Move to enforcing before'} ${p.enforce_deadline}`);
          for (const line of coverageLines(p.coverage)) console.log(`  ${line}`);
        }
        console.log(bold(`Summary: ${report.total_projects} project(s) in shadow, ${report.eligible_count} eligible`));
        if (warning) console.log(yellow(warning));
      }
      if (Object.values(report.projects).some((p) => p.past_max)) process.exitCode = 1;
    });
}
