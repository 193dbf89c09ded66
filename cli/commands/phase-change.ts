import type { Command } from 'commander';
import { InputError } from '../../shared/errors.js';
import { defaultActor, withDb } from '../context.js';
import { ok, phaseColor, printJson } from '../output.js';

/** `shadowgate migrate`: the operator's word for a phase change (not a schema migration: that is `db migrate`). */
export function registerPhaseChange(program: Command): void {
  program
    .command('migrate')
    .description('move a project or a batch to a phase, all or nothing, at the real time; refused (exit 1) by an illegal transition, the exit criteria or the rollout order; --phase shadow on a project in shadow resets its clock')
    .option('--project <id>', 'one project')
    .option('--batch <list>', 'several projects, e.g. "ab,aa,bap"')
    .requiredOption('--phase <phase>', 'pending | shadow | enforcing | complete')
    .option('--reason <text>', 'why (recorded in rls_phase_history)')
    .option('--actor <name>', 'who (default: $SHADOWGATE_ACTOR or the OS user)')
    .option('--force', 'override the exit criteria or the rollout order (needs --reason; recorded as forced and announced)')
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      if (!!o.project === !!o.batch) throw new InputError('give exactly one of --project or --batch');
      const { parseBatch } = await import('../../shared/config.js');
      const ids = o.project ? parseBatch(o.project) : parseBatch(o.batch);
      if (o.project && ids.length !== 1) throw new InputError('--project takes one id; use --batch for several');
      const at = new Date();
      const { changePhase } = await import('../../shared/db/phase-change.js');
      const results = await withDb((pool, cfg) =>
        changePhase(pool, cfg, { projectIds: ids, phase: o.phase, at, actor: o.actor ?? defaultActor(), reason: o.reason, force: !!o.force }),
      );
      if (o.json) return printJson(results);
      for (const r of results) {
        console.log(
          r.clockReset
            ? ok(`${r.projectId}: shadow clock reset`)
            : ok(`${r.projectId}: ${r.from} -> ${phaseColor(r.to)(r.to)}${r.forced ? ' (forced)' : ''}`),
        );
      }
    });
}
