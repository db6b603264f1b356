// The hot path under Redis failure and on Redis Cluster, across three server processes on
// one PostgreSQL: a test-owned redis-server is SIGKILLed in the middle of a storm and
// restarted (no double booking, no partial hold, no 5xx, the service keeps selling and
// the seat map heals), and the same storm runs against a three-master Redis Cluster.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Cluster } from 'ioredis';
import { connectPostgres, type Database } from '../../src/adapters/postgres/database.ts';
import {
  auth,
  createEvent,
  createSchema,
  dropSchema,
  postgresUrl,
  postgresUrlFor,
  signToken,
  startTestApp,
  testDb,
  testSecret,
} from '../support/harness.ts';
import { startServerProcess, type ServerProcess } from '../support/processes.ts';
import { seedFromEnv } from '../support/random.ts';
import { redisCommand, startRedisCluster, startRedisServer } from '../support/redis.ts';
import { createStormEvent, httpCaller, runStorm, verifyStorm, type Caller } from '../support/storm.ts';

const postgresOnly = testDb !== 'postgres' && 'several server processes need PostgreSQL';

async function startServers(schema: string, redis: Record<string, string>): Promise<ServerProcess[]> {
  const env = {
    DATABASE_URL: postgresUrlFor(schema),
    AUTH_SECRET: testSecret,
    DATABASE_POOL_MAX: '10',
    REDIS_COMMAND_TIMEOUT_MS: '300',
    ...redis,
  };
  return Promise.all([0, 1, 2].map(() => startServerProcess(env)));
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const readiness = async (call: Caller, base: string) => (await call(base, 'GET', '/readyz')).body?.status as string;

describe(`the hot path when Redis fails, and on Redis Cluster (${testDb})`, () => {
  const cleanups: (() => Promise<void>)[] = [];

  /** Three ready server processes on a fresh schema and the given Redis; all stopped after. */
  async function threeProcesses(redis: Record<string, string>) {
    const schema = await createSchema();
    cleanups.push(() => dropSchema(schema));
    const servers = await startServers(schema, redis);
    cleanups.push(async () => void (await Promise.all(servers.map((server) => server.stop()))));
    const db: Database = connectPostgres({ url: postgresUrl, poolMax: 4, searchPath: schema });
    cleanups.push(() => db.close());
    const call = httpCaller();
    cleanups.push(() => call.close());
    const urls = servers.map((server) => server.url);
    for (const base of urls) {
      await waitFor('ready', async () => ((await readiness(call, base)) === 'ready' ? true : undefined));
    }
    return { servers, db, call, urls };
  }
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((error) => console.error(error));
  });

  test(
    'when Redis is SIGKILLed mid-storm and restarted, then nothing is sold twice, nothing fails and the map heals',
    { skip: postgresOnly, timeout: 180_000 },
    async () => {
      const redis = await startRedisServer();
      cleanups.push(() => redis.stop());
      const { db, call, urls } = await threeProcesses({ REDIS_URL: redis.url });

      const seed = seedFromEnv();
      console.log(`chaos seed: ${seed} (replay with TEST_SEED=${seed})`);
      const eventId = await createStormEvent(call, urls[0]!, 8, 10);
      const sideEventId = await createStormEvent(call, urls[0]!, 1, 10);
      const outage = { holdsWhileDown: 0, degradedSeen: 0 };
      const options = {
        call,
        urls,
        eventId,
        seatsInEvent: 80,
        buyers: 300,
        rounds: 4,
        seed,
        // A third of the rounds ask for the best available: chosen in Lua, or from PostgreSQL's state while Redis is down.
        bestAvailable: { share: 0.3, draw: (random: { int(max: number): number }) => ({ count: 1 + random.int(3) }) },
        midway: {
          afterHolds: 300,
          run: async () => {
            await redis.kill9();
            for (const [index, base] of urls.entries()) {
              if (
                await waitFor('degraded', async () => ((await readiness(call, base)) === 'degraded' ? true : undefined))
              )
                outage.degradedSeen += 1;
              // Still selling, on the PostgreSQL path, and still showing the map.
              const token = await signToken(`outage-buyer-${index}`);
              const held = await call(base, 'POST', `/v1/events/${sideEventId}/reservations`, token, {
                seat_ids: [`s${index}`],
              });
              assert.equal(held.status, 201, JSON.stringify(held.body));
              const best = await call(base, 'POST', `/v1/events/${sideEventId}/reservations`, token, {
                best_available: { count: 1 },
              });
              assert.equal(best.status, 201, JSON.stringify(best.body));
              outage.holdsWhileDown += 1;
              const map = await call(base, 'GET', `/v1/events/${sideEventId}/availability`);
              assert.equal(map.status, 200);
            }
            await new Promise((resolve) => setTimeout(resolve, 1_000));
            await redis.restart();
          },
        },
      };
      const result = await runStorm(options);
      assert.equal(outage.degradedSeen, 3, '/readyz said degraded on every process while Redis was down');
      assert.equal(outage.holdsWhileDown, 3);
      for (const base of urls) {
        await waitFor('ready again', async () => ((await readiness(call, base)) === 'ready' ? true : undefined));
      }
      await verifyStorm(db, options, result);

      // Healed: a change made through one process shows in another's cached map.
      const token = await signToken('after-the-storm');
      const free = (await call(urls[0]!, 'GET', `/v1/events/${sideEventId}/seats`)).body.seats.find(
        (seat: { status: string }) => seat.status === 'available',
      );
      assert.equal(
        (await call(urls[1]!, 'POST', `/v1/events/${sideEventId}/reservations`, token, { seat_ids: [free.seat_id] }))
          .status,
        201,
      );
      const after = await call(urls[2]!, 'GET', `/v1/events/${sideEventId}/seats`);
      assert.equal(after.body.seats.find((seat: { seat_id: string }) => seat.seat_id === free.seat_id).status, 'held');
      for (const [index] of urls.entries()) {
        assert.equal(after.body.seats[index].status, 'held', 'holds made while Redis was down are on the map');
      }
    },
  );

  test(
    'when Redis refuses writes on a live connection, then the map still catches up within seconds',
    { skip: postgresOnly, timeout: 60_000 },
    async () => {
      const redis = await startRedisServer();
      cleanups.push(() => redis.stop());
      const t = await startTestApp({ env: { REDIS_URL: redis.url } });
      cleanups.push(() => t.close());
      const eventId = await createEvent(t);
      const seats = async () =>
        new Map(
          (await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/seats` }))
            .json()
            .seats.map((seat: { seat_id: string; status: string }) => [seat.seat_id, seat.status]),
        );
      assert.equal((await seats()).get('s3'), 'available'); // the map is built in Redis
      // Out of memory, Redis refuses every write but keeps the connection: the hold's
      // write-through fails, no reconnect follows, so only a retry brings the map back.
      await redisCommand(redis.port, ['CONFIG', 'SET', 'maxmemory', '1']);
      const held = await t.app.inject({
        method: 'POST',
        url: `/v1/events/${eventId}/reservations`,
        headers: auth(await t.token('paused-buyer')),
        payload: { seat_ids: ['s3'] },
      });
      assert.equal(held.statusCode, 201, held.body);
      await new Promise((resolve) => setTimeout(resolve, 300));
      await redisCommand(redis.port, ['CONFIG', 'SET', 'maxmemory', '0']);
      // Redis's own map (ETag "c…") must come to show the hold its write-through missed.
      await waitFor('the Redis map to show the hold', async () => {
        const served = await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/seats` });
        const fromRedis = String(served.headers.etag).startsWith('"c');
        const s3 = served.json().seats[3] as { seat_id: string; status: string };
        return fromRedis && s3.status === 'held' ? true : undefined;
      });
    },
  );

  test(
    'when three processes share a three-master Redis Cluster, then the storm sells nothing twice',
    { skip: postgresOnly, timeout: 180_000 },
    async () => {
      const cluster = await startRedisCluster();
      cleanups.push(() => cluster.stop());
      const { servers, db, call, urls } = await threeProcesses({
        REDIS_URL: cluster.urls.join(','),
        REDIS_CLUSTER: 'true',
      });

      const seed = seedFromEnv();
      console.log(`cluster seed: ${seed} (replay with TEST_SEED=${seed})`);
      // Several events, so their hash tags land on different masters.
      const eventIds = await Promise.all([0, 1, 2].map(() => createStormEvent(call, urls[0]!, 6, 10)));
      try {
        for (const eventId of eventIds) {
          const options = { call, urls, eventId, seatsInEvent: 60, buyers: 150, rounds: 3, seed };
          await verifyStorm(db, options, await runStorm(options));
        }
      } catch (error) {
        for (const server of servers) console.log(server.output().slice(-4000));
        throw error;
      }

      // The gate really ran on the cluster: each event's keys are there, on their masters.
      const client = new Cluster(cluster.ports.map((port) => ({ host: '127.0.0.1', port })));
      try {
        for (const eventId of eventIds) {
          assert.ok((await client.hlen(`bx:{${eventId}}:seats`)) > 0, `gate entries of ${eventId}`);
        }
      } finally {
        client.disconnect();
      }
    },
  );
});
