#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { registerCheckDuration } from './commands/check-duration.js';
import { registerDashboard } from './commands/dashboard.js';
import { registerDb } from './commands/db.js';
import { registerDecisions } from './commands/decisions.js';
import { registerDoctor } from './commands/doctor.js';
import { registerGrant } from './commands/grant.js';
import { registerIngestCalls } from './commands/ingest-calls.js';
import { registerPhaseChange } from './commands/phase-change.js';
import { registerProject } from './commands/project.js';
import { registerProtect } from './commands/protect.js';
import { registerRecordChange } from './commands/record-change.js';
import { registerReport } from './commands/report.js';
import { registerReview } from './commands/review.js';
import { registerHealth } from './commands/health.js';
import { registerRun } from './commands/run.js';
import { registerStatus } from './commands/status.js';
import { registerViolations } from './commands/violations.js';

/** One line for the operator; exit 2 for bad input or an unreachable service. */
export function explain(err: unknown): string {
  const e = err as Error & { code?: string };
  if (e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'ETIMEDOUT') return `cannot reach a service: ${e.message}`;
  return (e.message || String(err)).split('\n')[0] ?? '';
}

export function buildProgram(): Command {
  const program = new Command('shadowgate')
    .description('staged Row-Level-Security rollout for multi-tenant PostgreSQL')
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str) });
  registerDb(program);
  registerProtect(program);
  registerGrant(program);
  registerProject(program);
  registerPhaseChange(program);
  registerStatus(program);
  registerViolations(program);
  registerReport(program);
  registerCheckDuration(program);
  registerReview(program);
  registerIngestCalls(program);
  registerRecordChange(program);
  registerDecisions(program);
  registerRun(program);
  registerHealth(program);
  registerDashboard(program);
  registerDoctor(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      process.exitCode = err.exitCode === 0 ? 0 : 2;
      return;
    }
    process.stderr.write(`shadowgate: ${explain(err)}\n`);
    process.exitCode = 2;
  }
}

await main();
