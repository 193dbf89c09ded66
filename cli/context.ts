import { loadConfig, type Config } from '../shared/config.js';
import { parseTimestamp } from '../shared/clock.js';
import type { Pool } from '../shared/db/pool.js';
import { userInfo } from 'node:os';

/**
 * --now of the read-only commands (report, status, check-duration, violations, decisions): the time
 * the rules are evaluated at (default: the real time). Commands that change state take no time:
 * they act at the real time.
 */
export function parseNow(text: string | undefined, option = '--now'): Date {
  return text === undefined ? new Date() : parseTimestamp(text, option);
}

export function defaultActor(): string {
  return process.env.SHADOWGATE_ACTOR || userInfo().username;
}

/** Runs a command with a checked database pool and the configuration; closes the pool after. */
export async function withDb<T>(fn: (pool: Pool, cfg: Config) => Promise<T>): Promise<T> {
  const cfg = loadConfig();
  // loaded here, not at start-up: `--help` and commands that fail on their input need no driver
  const { checkDatabase, createPool } = await import('../shared/db/pool.js');
  const pool = createPool(cfg.databaseUrl);
  try {
    await checkDatabase(pool, cfg.databaseUrl);
    return await fn(pool, cfg);
  } finally {
    await pool.end();
  }
}
