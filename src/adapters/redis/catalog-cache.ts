// Hot catalog answers in Redis, shared by every process. Every key carries the catalog's
// generation; a change to the catalog moves the generation on (one INCR), so every older
// answer is unreachable at once and expires by itself. All keys share the hash tag
// {catalog}, so the read (generation, then answer) is one script on one slot, also on a
// cluster. A Redis failure is a cache miss, never an error.
import type { RedisClient } from './client.ts';
import { loadLua } from './lua.ts';
import type { CatalogCache } from '../../app/ports/catalog.ts';

// The script in lua/, its KEYS and ARGV described at its top.
const readLua = loadLua('catalog-read');

interface Scripts {
  bxCatalogRead(generation: string, prefix: string, key: string): Promise<[string, string | null]>;
}

export class RedisCatalogCache implements CatalogCache {
  private readonly scripts: Scripts;
  private readonly generationKey: string;
  private readonly answerPrefix: string;

  constructor(
    private readonly client: RedisClient,
    keyPrefix: string,
    private readonly ttlMs: number,
    private readonly onError: (error: unknown, context: string) => void,
  ) {
    this.generationKey = `${keyPrefix}{catalog}:generation`;
    this.answerPrefix = `${keyPrefix}{catalog}:answer:`;
    client.defineCommand('bxCatalogRead', { numberOfKeys: 1, lua: readLua });
    this.scripts = client as unknown as Scripts;
  }

  async get(key: string): Promise<{ value: string | null; generation: string }> {
    try {
      const [generation, value] = await this.scripts.bxCatalogRead(this.generationKey, this.answerPrefix, key);
      return { value, generation };
    } catch (error) {
      this.onError(error, 'redis catalog cache');
      return { value: null, generation: 'none' };
    }
  }

  /** Written under the generation it was computed in: after a change nobody reads it. */
  async set(key: string, value: string, generation: string): Promise<void> {
    if (generation === 'none') return;
    try {
      await this.client.set(`${this.answerPrefix}${generation}:${key}`, value, 'PX', this.ttlMs);
    } catch (error) {
      this.onError(error, 'redis catalog cache');
    }
  }

  async invalidate(): Promise<void> {
    try {
      await this.client.incr(this.generationKey);
    } catch (error) {
      // Answers then live out their short TTL.
      this.onError(error, 'redis catalog cache');
    }
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
