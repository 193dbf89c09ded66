import type { Command } from 'commander';
import { recordChange } from '../../shared/db/changes.js';
import { defaultActor, parseNow, withDb } from '../context.js';
import { ok } from '../output.js';

export function registerRecordChange(program: Command): void {
  program
    .command('record-change')
    .description('record a code or permission change (CI/deploy hook): the shadow clock of the project restarts')
    .requiredOption('--project <id>', 'the project changed')
    .requiredOption('--kind <kind>', 'code | acl')
    .requiredOption('--ref <url>', 'the PR or migration')
    .option('--actor <name>', 'who')
    .option('--now <iso>', 'the time of the change')
    .action(async (o) => {
      const at = parseNow(o.now);
      const id = await withDb((pool) => recordChange(pool, { projectId: o.project, kind: o.kind, ref: o.ref, actor: o.actor ?? defaultActor(), at }));
      console.log(ok(`change ${id} recorded for ${o.project}`));
    });
}
