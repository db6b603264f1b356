// The benchmark's own Redis connection: connecting without retries, deleting this run's keys
// (never FLUSHDB: the Redis is shared), and URLs fit for the log.
import { Redis } from 'ioredis';

/** The URL without a password, for logs and the report. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

export async function connectRedis(url: string): Promise<Redis> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 3_000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null, // no reconnecting: a Redis that goes away fails the checks that need it
  });
  let lastError: Error | null = null;
  client.on('error', (error: Error) => (lastError = error)); // reported by the command that fails
  try {
    await client.connect();
    await client.ping();
    return client;
  } catch (error) {
    client.disconnect();
    throw lastError ?? error;
  }
}

/** SCAN + UNLINK of the keys matching the pattern (and `keep`): never FLUSHDB. Returns how many. */
export async function deleteKeys(
  redis: Redis,
  match: string,
  keep: (key: string) => boolean = () => true,
): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    const mine = keys.filter(keep);
    if (mine.length > 0) deleted += await redis.unlink(...mine);
  } while (cursor !== '0');
  return deleted;
}
