import type { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { InputError } from '../../shared/errors.js';
import { withDb } from '../context.js';
import { ok } from '../output.js';

export function registerIngestCalls(program: Command): void {
  program
    .command('ingest-calls [file]')
    .description('count tool calls from application logs as the transactions of projects registered with --transactions-from tool-calls (JSON lines: {"project","timestamp"[,"count" <= 10000]}; each line once, however often ingested); "-" or none reads stdin')
    .action(async (file?: string) => {
      let text: string;
      try {
        text = readFileSync(!file || file === '-' ? 0 : file, 'utf8');
      } catch (err) {
        throw new InputError(`cannot read ${file}: ${(err as Error).message}`);
      }
      const { ingestCalls, parseCallLog } = await import('../../shared/db/tool-calls.js');
      const lines = parseCallLog(text);
      const per = await withDb((pool) => ingestCalls(pool, lines, new Date()));
      for (const r of per) {
        console.log(ok(`${r.projectId}: ${r.calls} tool calls added from ${r.lines} line(s)${r.duplicates ? `; ${r.duplicates} line(s) ingested before, not counted again` : ''}`));
      }
    });
}
