import type { Command } from 'commander';
import { InputError } from '../../shared/errors.js';
import { withDb } from '../context.js';
import { printJson } from '../output.js';

const age = (s: number | null) => (s === null ? 'never' : `${Math.round(s)} s ago`);

export function registerHealth(program: Command): void {
  program
    .command('health')
    .description('whether the pipeline makes progress (for a supervisor or a container health check): exit 0 yes, 1 no, 2 database unreachable or never migrated')
    .option('--max-age <seconds>', 'progress older than this, or work waiting longer, is none', '30')
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const maxAge = Number(o.maxAge);
      if (!Number.isFinite(maxAge) || maxAge <= 0) throw new InputError(`--max-age must be a positive number of seconds, got "${o.maxAge}"`);
      const { pipelineHealth } = await import('../../shared/jobs/health.js');
      const h = await withDb((pool) => pipelineHealth(pool, maxAge));
      process.exitCode = h.healthy ? 0 : 1;
      if (o.json) return printJson(h);
      console.log(`${h.healthy ? 'healthy' : 'NOT MAKING PROGRESS'}: producer ${age(h.producerAge)}, workers ${age(h.workersAge)}`);
      for (const p of h.problems) console.log(`  ${p}`);
      console.log(`deliveries: ${h.pendingDeliveries} pending, ${h.failedDeliveries} failed${h.lastDeliveryError ? ` (last error: ${h.lastDeliveryError})` : ''}`);
    });
}
