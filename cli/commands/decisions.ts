import type { Command } from 'commander';
import { writeFileSync } from 'node:fs';
import { parseNow, withDb } from '../context.js';
import { ok } from '../output.js';

export function registerDecisions(program: Command): void {
  program
    .command('decisions')
    .description("each project's decision record: where it stands (--now: evaluated at this time) and every phase decision with the evidence stored when it was taken")
    .option('--write <file>', 'write to a file (e.g. docs/migration_decisions.md) instead of stdout')
    .option('--now <iso>', 'evaluate the projects in shadow at this time (the recorded decisions never change)')
    .action(async (o) => {
      const now = await parseNow(o.now);
      const { decisionsMarkdown } = await import('../../shared/domain/decisions.js');
      const { absorbAndLoadStats } = await import('../../shared/db/stats.js');
      const { decisionHistory } = await import('../../shared/db/history.js');
      const { fingerprints } = await import('../../shared/db/violations.js');
      const md = await withDb(async (pool, cfg) => {
        return decisionsMarkdown(await absorbAndLoadStats(pool), await fingerprints(pool), await decisionHistory(pool), cfg, now);
      });
      if (o.write) {
        writeFileSync(o.write, `${md}\n`);
        console.log(ok(`decisions written to ${o.write}`));
      } else console.log(md);
    });
}
