import type { Command } from 'commander';
import { InputError } from '../../shared/errors.js';
import { defaultActor, withDb } from '../context.js';
import { ok, phaseColor, printJson } from '../output.js';

export function registerProject(program: Command): void {
  const project = program.command('project').description('register projects and their read permissions');

  project
    .command('add <id>')
    .description('register a project (it starts in pending)')
    .requiredOption('--access <level>', 'isolated | shared | super')
    .option('--name <name>', 'display name')
    .option('--lead-email <email>', "the lead's email (escalations)")
    .option('--lead-slack <id>', "the lead's Slack member id (U…: pinged as <@U…>) or user-group id (S…: pinged as <!subteam^S…>); in Slack: profile > ⋮ > Copy member ID. A @handle is shown as plain text: webhooks cannot ping a name")
    .option('--legacy-owner', 'legacy owner: extended monitoring, at least 14 days in shadow ($SHADOWGATE_LEGACY_MIN_SHADOW_DAYS)')
    .option('--min-shadow-days <n>', 'minimum shadow duration for this project')
    .option('--transactions-from <source>', 'where its transactions are counted: database (set_project_context) | tool-calls (ingest-calls)', 'database')
    .action(async (id: string, o) => {
      let minDays: number | undefined;
      if (o.minShadowDays !== undefined) {
        minDays = Number(o.minShadowDays);
        if (!Number.isInteger(minDays) || minDays < 0) throw new InputError(`--min-shadow-days must be a whole number, got "${o.minShadowDays}"`);
      }
      const { addProject } = await import('../../shared/db/projects.js');
      await withDb(async (pool) => {
        await addProject(pool, {
          projectId: id, accessLevel: o.access, name: o.name, leadEmail: o.leadEmail,
          leadSlack: o.leadSlack, legacyOwner: !!o.legacyOwner, minShadowDays: minDays, transactionsFrom: o.transactionsFrom,
        });
      });
      console.log(ok(`project ${id} registered (${o.access}, pending)`));
    });

  project
    .command('set <id>')
    .description("change a project's settings")
    .option('--require-coverage <list>', 'what it must have exercised in its current shadow window before it may enforce (an exit criterion; default: coverage shown in report, not required), comma-separated: an operation (select, insert, update, delete: on every protected table) or table:operation (e.g. public.docs:update); "none": not required. Replaces the previous list')
    .action(async (id: string, o) => {
      if (o.requireCoverage === undefined) throw new InputError('nothing to set: give --require-coverage');
      const { describeRequirement, parseCoverageSpec } = await import('../../shared/domain/coverage.js');
      const { setRequiredCoverage } = await import('../../shared/db/coverage.js');
      const required = parseCoverageSpec(o.requireCoverage);
      await withDb((pool) => setRequiredCoverage(pool, id, required));
      console.log(ok(required.length
        ? `${id} must exercise in shadow before enforcing: ${required.map(describeRequirement).join(', ')}`
        : `${id}: coverage shown, not required`));
    });

  project
    .command('permit <reader> <target>')
    .description('let a shared project read the rows of another (the reader\'s shadow clock restarts at once)')
    .option('--actor <name>', 'who (default: $SHADOWGATE_ACTOR or the OS user)')
    .action(async (reader: string, target: string, o) => {
      const { permit } = await import('../../shared/db/projects.js');
      const added = await withDb((pool) => permit(pool, reader, target, { actor: o.actor ?? defaultActor(), at: new Date() }));
      console.log(added ? ok(`${reader} may read ${target}`) : `${reader} could already read ${target}`);
    });

  project
    .command('revoke <reader> <target>')
    .description('withdraw a read permission (the reader\'s shadow clock restarts at once)')
    .option('--actor <name>', 'who (default: $SHADOWGATE_ACTOR or the OS user)')
    .action(async (reader: string, target: string, o) => {
      const { revoke } = await import('../../shared/db/projects.js');
      const removed = await withDb((pool) => revoke(pool, reader, target, { actor: o.actor ?? defaultActor(), at: new Date() }));
      console.log(removed ? ok(`${reader} may no longer read ${target}`) : `${reader} could not read ${target}`);
    });

  project
    .command('list')
    .description('every project, its access level, phase, read permissions and required coverage')
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const { listProjects } = await import('../../shared/db/projects.js');
      const { describeRequirement } = await import('../../shared/domain/coverage.js');
      const rows = await withDb((pool) => listProjects(pool));
      if (o.json) return printJson(rows);
      for (const r of rows) {
        const reads = r.reads.length ? ` reads ${r.reads.join(', ')}` : '';
        const required = r.required_coverage.length ? ` requires coverage: ${r.required_coverage.map(describeRequirement).join(', ')}` : '';
        console.log(`${r.project_id.padEnd(10)} ${r.access_level.padEnd(9)} ${phaseColor(r.phase)(r.phase.padEnd(9))}${r.legacy_owner ? ' legacy-owner' : ''}${r.transactions_from === 'tool-calls' ? ' counts tool-calls' : ''}${reads}${required}`);
      }
    });
}
