import { Redis } from 'ioredis';
import { systemClock, type Clock } from '../clock.js';
import type { Config } from '../config.js';
import { UnavailableError } from '../errors.js';
import { checkDatabase, createPool, type Pool } from '../db/pool.js';
import { closeQueues, createQueues, type Queues } from './queues.js';

/** What producers, workers, the dashboard and the demo share: the database, Redis, the queues, the clock. */
export interface Runtime {
  pool: Pool;
  cfg: Config;
  clock: Clock;
  connection: Redis;
  queues: Queues;
}

/** A runtime whose Redis may be missing (the dashboard works without queue metrics). */
export type DatabaseRuntime = Omit<Runtime, 'connection' | 'queues'> & Partial<Pick<Runtime, 'connection' | 'queues'>>;

export interface RuntimeOptions {
  clock?: Clock;
  /** connections of the pool */
  poolMax?: number;
}

/** ioredis as BullMQ wants it (maxRetriesPerRequest: null); fails in one line when unreachable. */
export async function connectRedis(url: string): Promise<Redis> {
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, retryStrategy: (n) => Math.min(n * 200, 2000) });
  redis.on('error', () => undefined); // reported by the caller / reconnects on its own
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    throw new UnavailableError(`cannot reach Redis at ${url}: ${(err as Error).message}`);
  }
  return redis;
}

/**
 * Opens the database pool (checked) and Redis with the queues; fails in one line, leaving nothing
 * open, when either cannot be reached. With `redis: 'optional'` an unreachable Redis is reported
 * through `onRedisMissing` and the runtime has no queues.
 */
export async function openRuntime(cfg: Config, o?: RuntimeOptions): Promise<Runtime>;
export async function openRuntime(cfg: Config, o: RuntimeOptions & { redis: 'optional'; onRedisMissing(e: Error): void }): Promise<DatabaseRuntime>;
export async function openRuntime(
  cfg: Config, o: RuntimeOptions & { redis?: 'optional'; onRedisMissing?(e: Error): void } = {},
): Promise<DatabaseRuntime> {
  const pool = createPool(cfg.databaseUrl, o.poolMax ?? 10);
  const base = { pool, cfg, clock: o.clock ?? systemClock };
  try {
    await checkDatabase(pool, cfg.databaseUrl);
    const connection = await connectRedis(cfg.redisUrl);
    return { ...base, connection, queues: createQueues(connection, cfg.redisPrefix) };
  } catch (err) {
    if (o.redis === 'optional' && !pool.ending && err instanceof UnavailableError && /Redis/.test(err.message)) {
      o.onRedisMissing?.(err);
      return base;
    }
    await pool.end();
    throw err;
  }
}

/**
 * Closes what openRuntime opened. `forgetQueues` deletes every key of the runtime's Redis prefix
 * first (the demo and the tests: their prefixes are their own, never production's).
 */
export async function closeRuntime(rt: DatabaseRuntime, o: { forgetQueues?: boolean } = {}): Promise<void> {
  if (rt.queues) await closeQueues(rt.queues);
  if (rt.connection) {
    if (o.forgetQueues) {
      const keys = await rt.connection.keys(`${rt.cfg.redisPrefix}:*`);
      if (keys.length) await rt.connection.del(...keys);
    }
    rt.connection.disconnect();
  }
  await rt.pool.end();
}
