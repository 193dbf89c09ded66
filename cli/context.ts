import type { Config } from '../shared/config.js';
import type { Pool } from '../shared/db/pool.js';
import { userInfo } from 'node:os';

// Every module below cli/ is imported when a command runs, not at start-up: `--help` (and a command
// refused on its input) loads commander and the command definitions alone.

/**
 * --now of the read-only commands (report, status, check-duration, violations, decisions): the time
 * the rules are evaluated at (default: the real time). Commands that change state take no time:
 * they act at the real time.
 */
export async function parseNow(text: string | undefined, option = '--now'): Promise<Date> {
  if (text === undefined) return new Date();
  const { parseTimestamp } = await import('../shared/clock.js');
  return parseTimestamp(text, option);
}

export function defaultActor(): string {
  return process.env.SHADOWGATE_ACTOR || userInfo().username;
}

/** Runs a command with a checked database pool and the configuration; closes the pool after. */
export async function withDb<T>(fn: (pool: Pool, cfg: Config) => Promise<T>): Promise<T> {
  const { loadConfig } = await import('../shared/config.js');
  const cfg = loadConfig();
  const { checkDatabase, createPool } = await import('../shared/db/pool.js');
  const pool = createPool(cfg.databaseUrl);
  try {
    await checkDatabase(pool, cfg.databaseUrl);
    return await fn(pool, cfg);
  } finally {
    await pool.end();
  }
}
