// Every Redis client the service makes comes from here: one URL, or (cluster) the seed
// nodes, with the options of a named preset. A command client fails fast while Redis is
// away (no offline queue, one retry, a command timeout): each adapter then falls back to
// PostgreSQL or lets the request through, so a request never waits for Redis to return.
import { Redis, Cluster, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;

/** Where Redis is: one URL, or (cluster) the seed nodes. */
export interface RedisTarget {
  urls: string[];
  cluster: boolean;
}

/** A client that sends commands; its users add what their load needs (auto-pipelining, say). */
export function commandClientOptions(commandTimeoutMs: number): RedisOptions {
  return {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: commandTimeoutMs,
    retryStrategy: (attempt) => Math.min(100 * attempt, 1_000),
  };
}

/**
 * A client that only subscribes, made from its command client's options: its SUBSCRIBE
 * waits for the connection (and ioredis subscribes again after a reconnect), and there is
 * no command timeout, which a busy start would trip although the subscription is made.
 */
export function subscriberOptions(commandOptions: RedisOptions): RedisOptions {
  return { ...commandOptions, enableOfflineQueue: true, commandTimeout: undefined };
}

export function connectRedis(target: RedisTarget, options: RedisOptions): RedisClient {
  if (!target.cluster) return new Redis(target.urls[0]!, options);
  const nodes = target.urls.map((url) => {
    const parsed = new URL(url);
    return { host: parsed.hostname, port: Number(parsed.port || 6379) };
  });
  return new Cluster(nodes, {
    enableOfflineQueue: options.enableOfflineQueue,
    enableAutoPipelining: options.enableAutoPipelining,
    redisOptions: options,
  });
}
