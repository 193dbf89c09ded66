import type { Command } from 'commander';
import { InputError } from '../../shared/errors.js';
import { review } from '../../shared/db/violations.js';
import { absorbAudit } from '../../shared/db/intake.js';
import { defaultActor, parseNow, withDb } from '../context.js';
import { ok } from '../output.js';

export function registerReview(program: Command): void {
  program
    .command('review')
    .description('record the root cause of a violation fingerprint (code-fix and acl-change reset the shadow clock)')
    .requiredOption('--fingerprint <id>', 'fingerprint id (see `violations`)')
    .requiredOption('--resolution <kind>', 'code-fix | acl-change | false-positive')
    .option('--ref <url>', 'PR, migration or issue')
    .option('--rationale <text>', 'why (required for a false positive)')
    .option('--actor <name>', 'who reviewed')
    .option('--now <iso>', 'the time of the review')
    .action(async (o) => {
      const id = Number(o.fingerprint);
      if (!Number.isInteger(id) || id <= 0) throw new InputError(`--fingerprint must be a fingerprint id, got "${o.fingerprint}"`);
      const at = parseNow(o.now);
      const project = await withDb(async (pool) => {
        await absorbAudit(pool);
        return review(pool, { fingerprintId: id, resolution: o.resolution, ref: o.ref, rationale: o.rationale, actor: o.actor ?? defaultActor(), at });
      });
      console.log(ok(`fingerprint ${id} (${project}) reviewed: ${o.resolution}${o.resolution === 'false-positive' ? '' : `; ${project}'s shadow clock restarts`}`));
    });
}
