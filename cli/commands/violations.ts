import type { Command } from 'commander';
import { InputError } from '../../shared/errors.js';
import { parseNow, withDb } from '../context.js';
import { bold, ok, printJson, red, stamp } from '../output.js';

export function registerViolations(program: Command): void {
  program
    .command('violations')
    .description('would-be denials by project, by table and operation, and by fingerprint; the newest samples')
    .option('--project <id>', 'one project')
    .option('--since <iso>', 'only denials logged since')
    .option('--samples <n>', 'newest samples to show', '5')
    .option('--check-eligibility', 'also evaluate the exit criteria of the project(s) in shadow')
    .option('--now <iso>', 'the time the criteria are evaluated at')
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const n = Number(o.samples);
      if (!Number.isInteger(n) || n < 0) throw new InputError(`--samples must be a whole number, got "${o.samples}"`);
      const since = o.since === undefined ? undefined : await parseNow(o.since, '--since');
      const now = await parseNow(o.now);
      const { absorbAudit } = await import('../../shared/db/intake.js');
      const { loadStats } = await import('../../shared/db/stats.js');
      const { fingerprints, samples } = await import('../../shared/db/violations.js');
      const { requireProjects } = await import('../../shared/db/projects.js');
      const { evaluateEligibility } = await import('../../shared/domain/eligibility.js');
      const { ownerLabel } = await import('../../shared/domain/owner.js');
      const out = await withDb(async (pool, cfg) => {
        if (o.project) await requireProjects(pool, [o.project]);
        await absorbAudit(pool);
        const fps = await fingerprints(pool, o.project, since);
        const sm = await samples(pool, n, o.project, since);
        const elig = o.checkEligibility
          ? (await loadStats(pool, o.project ? [o.project] : undefined))
              .filter((s) => s.phase === 'shadow')
              .map((s) => evaluateEligibility(s, cfg.thresholds, now, cfg.calendar))
          : undefined;
        return { fps, sm, elig };
      });
      const byProject: Record<string, number> = {};
      const byTable: Record<string, number> = {};
      for (const f of out.fps) {
        byProject[f.project_id] = (byProject[f.project_id] ?? 0) + f.occurrences;
        const k = `${f.project_id} ${f.table_name} ${f.operation}`;
        byTable[k] = (byTable[k] ?? 0) + f.occurrences;
      }
      const total = Object.values(byProject).reduce((a, b) => a + b, 0);
      if (o.json) {
        printJson({ total, by_project: byProject, by_table_operation: byTable, fingerprints: out.fps, samples: out.sm, eligibility: out.elig });
      } else if (total === 0) {
        console.log(ok(`No would-be denials${o.project ? ` for ${o.project}` : ''}${since ? ` since ${stamp(since)}` : ''}`));
      } else {
        console.log(bold(`Would-be denials: ${total}`));
        for (const [p, c] of Object.entries(byProject)) console.log(`  ${p.padEnd(10)} ${c}`);
        console.log(bold('By table and operation'));
        for (const [k, c] of Object.entries(byTable)) console.log(`  ${k.padEnd(32)} ${c}`);
        console.log(bold('By fingerprint'));
        for (const f of out.fps) {
          const state = f.open_since ? red('UNREVIEWED') : f.resolution ? `reviewed: ${f.resolution} ${f.ref ?? ''}` : '-';
          console.log(`  #${f.id ?? '?'} ${f.project_id} ${f.table_name} ${f.operation} owner=${ownerLabel(f.row_project_id)} "${f.denied_reason}": ${f.occurrences} rows, first ${stamp(f.first_seen)}, last ${stamp(f.last_seen)}, ${state}`);
        }
        if (out.sm.length) console.log(bold(`Newest ${out.sm.length} samples`));
        for (const s of out.sm) {
          console.log(`  ${stamp(s.logged_at)} ${s.project_id} ${s.operation} ${s.table_name} owner=${ownerLabel(s.row_project_id)} x${s.row_count} "${s.denied_reason}"${s.plan_dependent ? ' (plan-dependent)' : ''} user=${s.user_name} session=${s.session_id} application=${s.application_name ?? ''}`);
          if (s.statement) console.log(`    ${s.statement.replace(/\s+/g, ' ').slice(0, 200)}`);
        }
      }
      if (out.elig && !o.json) {
        for (const e of out.elig) {
          console.log(bold(`${e.projectId}: ${e.eligible ? 'ELIGIBLE' : 'NOT ELIGIBLE'}`));
          for (const c of e.criteria) console.log(`  ${c.line}`);
        }
      }
      if (total > 0) process.exitCode = 1;
    });
}
