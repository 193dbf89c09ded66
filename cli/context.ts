import { loadConfig, type Config } from '../shared/config.js';
import { InputError } from '../shared/errors.js';
import { checkDatabase, createPool, type Pool } from '../shared/db/pool.js';
import { userInfo } from 'node:os';

/** --now: the clock of every rule in a command (default: the real time). */
export function parseNow(text: string | undefined): Date {
  if (text === undefined) return new Date();
  const t = new Date(text);
  if (Number.isNaN(t.getTime())) throw new InputError(`unparsable time "${text}": use ISO 8601, e.g. 2026-01-31T12:00:00Z`);
  return t;
}

export function defaultActor(): string {
  return process.env.SHADOWGATE_ACTOR || userInfo().username;
}

/** Runs a command with a checked database pool and the configuration; closes the pool after. */
export async function withDb<T>(fn: (pool: Pool, cfg: Config) => Promise<T>): Promise<T> {
  const cfg = loadConfig();
  const pool = createPool(cfg.databaseUrl);
  try {
    await checkDatabase(pool, cfg.databaseUrl);
    return await fn(pool, cfg);
  } finally {
    await pool.end();
  }
}
