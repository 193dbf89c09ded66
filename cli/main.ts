#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { classifyError, EXIT } from '../shared/errors.js';
import { registerCheckDuration } from './commands/check-duration.js';
import { registerDashboard } from './commands/dashboard.js';
import { registerDb } from './commands/db.js';
import { registerDecisions } from './commands/decisions.js';
import { registerDoctor } from './commands/doctor.js';
import { registerGrant } from './commands/grant.js';
import { registerHealth } from './commands/health.js';
import { registerIngestCalls } from './commands/ingest-calls.js';
import { registerPhaseChange } from './commands/phase-change.js';
import { registerProject } from './commands/project.js';
import { registerProtect } from './commands/protect.js';
import { registerRecordChange } from './commands/record-change.js';
import { registerReport } from './commands/report.js';
import { registerReview } from './commands/review.js';
import { registerRun } from './commands/run.js';
import { registerStatus } from './commands/status.js';
import { registerViolations } from './commands/violations.js';


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
    const { exitCode, message } = classifyError(err);
    process.stderr.write(`shadowgate: ${message}\n`);
    if (exitCode === EXIT.software && process.env.DEBUG) process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = exitCode;
  }
}

await main();
