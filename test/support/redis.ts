import { Redis } from 'ioredis';

/** Removes every key a test run left under its Redis prefix (queues' metadata and jobs). */
export async function dropRedisPrefix(prefix: string, url = 'redis://127.0.0.1:6379'): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: null });
  try {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
  } finally {
    redis.disconnect();
  }
}
