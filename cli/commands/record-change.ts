import type { Command } from 'commander';
import { defaultActor, withDb } from '../context.js';
import { ok } from '../output.js';

export function registerRecordChange(program: Command): void {
  program
    .command('record-change')
    .description('record a code or permission change (CI/deploy hook): the shadow clock of a project in shadow restarts at once, in the same transaction')
    .requiredOption('--project <id>', 'the project changed')
    .requiredOption('--kind <kind>', 'code | acl')
    .requiredOption('--ref <url>', 'the PR or migration')
    .option('--actor <name>', 'who')
    .action(async (o) => {
      const { recordChange } = await import('../../shared/db/changes.js');
      const r = await withDb((pool) => recordChange(pool, { projectId: o.project, kind: o.kind, ref: o.ref, actor: o.actor ?? defaultActor(), at: new Date() }));
      console.log(ok(`change ${r.id} recorded for ${o.project}${r.clockReset ? `; ${o.project}'s shadow clock restarts` : ''}`));
    });
}
