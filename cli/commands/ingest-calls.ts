import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { InputError } from '../../shared/errors.js';
import { ingestCalls, parseCallLog } from '../../shared/db/tool-calls.js';
import { withDb } from '../context.js';
import { ok } from '../output.js';

export function registerIngestCalls(program: Command): void {
  program
    .command('ingest-calls [file]')
    .description('add tool-call counts from application logs (JSON lines: {"project","timestamp"[,"count"]}); "-" or none reads stdin')
    .action(async (file?: string) => {
      let text: string;
      try {
        text = readFileSync(!file || file === '-' ? 0 : file, 'utf8');
      } catch (err) {
        throw new InputError(`cannot read ${file}: ${(err as Error).message}`);
      }
      const counts = parseCallLog(text);
      const per = await withDb((pool) => ingestCalls(pool, counts));
      for (const [p, n] of per) console.log(ok(`${p}: ${n} tool calls added`));
    });
}
