// The throwaway Redis servers other tests lean on (test/support/redis.ts): a single server that
// can be killed and brought back, and a small cluster. They need Redis only, so they run once,
// in the PostgreSQL pass.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { testDb } from '../support/harness.ts';
import { startRedisCluster, startRedisServer } from '../support/redis.ts';

const onlyOnce = testDb !== 'postgres' && 'needs Redis only: runs once, in the PostgreSQL pass';

describe('redis test support', () => {
  test(
    'when a server is SIGKILLed and restarted, then commands fail while it is down and it comes back empty on the same port',
    { skip: onlyOnce, timeout: 60_000 },
    async () => {
      const server = await startRedisServer();
      const client = new Redis(server.url, {
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => 50,
      });
      client.on('error', () => {}); // connection errors are expected while the server is down
      try {
        await once(client, 'ready');
        assert.equal(await client.set('greeting', 'hello'), 'OK');
        assert.equal(await client.get('greeting'), 'hello');

        await server.kill9();
        await assert.rejects(client.get('greeting'));

        await server.restart();
        if (client.status !== 'ready') await once(client, 'ready');
        assert.equal(await client.dbsize(), 0, 'a restarted server starts empty');
        assert.equal(await client.get('greeting'), null);
        assert.equal(await client.set('greeting', 'again'), 'OK');
        assert.equal(await client.get('greeting'), 'again');
      } finally {
        client.disconnect();
        await server.stop();
        await server.stop(); // idempotent
      }
    },
  );

  test(
    'when a cluster is started, then keys spread over every master and read back through a cluster client',
    { skip: onlyOnce, timeout: 60_000 },
    async () => {
      const started = Date.now();
      const cluster = await startRedisCluster();
      const startMs = Date.now() - started;
      const client = new Redis.Cluster([{ host: '127.0.0.1', port: cluster.ports[0]! }]);
      try {
        assert.equal(cluster.ports.length, 3);
        assert.deepEqual(
          cluster.urls,
          cluster.ports.map((port) => `redis://127.0.0.1:${port}`),
        );
        const keys = Array.from({ length: 50 }, (_, i) => `key:${i}`);
        await Promise.all(keys.map((key) => client.set(key, `value of ${key}`)));
        assert.deepEqual(
          await Promise.all(keys.map((key) => client.get(key))),
          keys.map((key) => `value of ${key}`),
        );
        const masters = client.nodes('master');
        assert.equal(masters.length, 3);
        const sizes = await Promise.all(masters.map((node) => node.dbsize()));
        assert.equal(
          sizes.reduce((sum, size) => sum + size, 0),
          50,
        );
        assert.ok(
          sizes.every((size) => size > 0),
          `every master holds keys: ${sizes.join(', ')}`,
        );
        console.log(`cluster of 3 masters ready in ${startMs} ms`);
      } finally {
        await client.quit();
        await cluster.stop();
        await cluster.stop(); // idempotent
      }
    },
  );
});
