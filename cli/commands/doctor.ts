import type { Command } from 'commander';
import { withDb } from '../context.js';
import { bold, ok, printJson, red } from '../output.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('every route by which rows of protected tables are reached without the policies or without being recorded, with the fix; exit 1 when any')
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const { doctor, routesLine } = await import('../../shared/db/doctor.js');
      const findings = await withDb((pool, cfg) => doctor(pool, cfg.doctorAllowRoles));
      if (o.json) printJson({ clean: findings.length === 0, findings });
      else if (!findings.length) console.log(ok('no route around the policies or around recording found'));
      else {
        for (const f of findings) {
          console.log(`${red('✗')} ${bold(`${f.kind} ${f.object}`)}: ${f.why}`);
          console.log(`  fix: ${f.fix}`);
        }
        console.log(bold(routesLine(findings.length)));
      }
      if (findings.length) process.exitCode = 1;
    });
}
