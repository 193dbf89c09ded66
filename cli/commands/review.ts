import type { Command } from 'commander';
import { InputError } from '../../shared/errors.js';
import { defaultActor, withDb } from '../context.js';
import { ok } from '../output.js';

const collect = (v: string, prev: string[] | undefined) => [...(prev ?? []), v];

export function registerReview(program: Command): void {
  program
    .command('review')
    .description('record one root cause for one or many violation fingerprints, all or nothing (code-fix and acl-change restart the shadow clock of each project concerned once, at once)')
    .option('--fingerprint <ids>', 'fingerprint id(s) (see `violations`): repeat it or give a list, e.g. 12,13,14', collect)
    .option('--project <id>', 'instead of ids: every unreviewed fingerprint of this project')
    .option('--table <name>', '... of this table (e.g. public.docs)')
    .option('--operation <op>', '... of this operation (SELECT, INSERT, UPDATE, DELETE)')
    .requiredOption('--resolution <kind>', 'code-fix | acl-change | false-positive')
    .option('--ref <url>', 'PR, migration or issue')
    .option('--rationale <text>', 'why (required for a false positive)')
    .option('--actor <name>', 'who reviewed')
    .action(async (o) => {
      const { parseFingerprintIds, review } = await import('../../shared/db/violations.js');
      const { absorbAudit } = await import('../../shared/db/intake.js');
      const ids = parseFingerprintIds(o.fingerprint ?? []);
      const selecting = o.project !== undefined || o.table !== undefined || o.operation !== undefined;
      if (ids.length && selecting) throw new InputError('give --fingerprint ids or a selection (--project, --table, --operation), not both');
      if (!ids.length && !selecting) throw new InputError('give --fingerprint ids or a selection (--project, --table, --operation)');
      const done = await withDb(async (pool) => {
        await absorbAudit(pool);
        return review(pool, {
          fingerprintIds: ids.length ? ids : undefined,
          selection: selecting ? { projectId: o.project, table: o.table, operation: o.operation?.toUpperCase() } : undefined,
          resolution: o.resolution, ref: o.ref, rationale: o.rationale, actor: o.actor ?? defaultActor(), at: new Date(),
        });
      });
      const list = done.fingerprintIds.join(', ');
      const resets = o.resolution === 'false-positive' ? '' : `; shadow clock restarts for ${done.projects.join(', ')}`;
      console.log(ok(`fingerprint${done.fingerprintIds.length > 1 ? 's' : ''} ${list} (${done.projects.join(', ')}) reviewed: ${o.resolution}${resets}`));
    });
}
