// 240 buyers race overlapping multi-seat holds (seat ids in random order), confirms and
// cancels through real HTTP; on PostgreSQL across three server processes sharing one
// Redis (the hot path). Afterwards the database must show: no seat in two live holds or
// bookings, no partial hold, every 201 recorded as answered, and no 5xx along the way.
import { after, before, describe, test } from 'node:test';
import { connectPostgres, type Database } from '../../src/adapters/postgres/database.ts';
import {
  createSchema,
  deleteRedisKeys,
  dropSchema,
  postgresUrl,
  postgresUrlFor,
  redisUrl,
  startTestApp,
  testDb,
  testSecret,
  type TestApp,
} from '../support/harness.ts';
import { startServerProcess, type ServerProcess } from '../support/processes.ts';
import { seedFromEnv } from '../support/random.ts';
import { createStormEvent, httpCaller, runStorm, verifyStorm } from '../support/storm.ts';

describe(`concurrent buyers on ${testDb}`, () => {
  let urls: string[] = [];
  let db: Database;
  let servers: ServerProcess[] = [];
  let inProcess: TestApp | undefined;
  let schema: string | undefined;
  const call = httpCaller();

  before(async () => {
    if (testDb === 'postgres') {
      schema = await createSchema();
      const env = {
        DATABASE_URL: postgresUrlFor(schema),
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: `bxt:${schema}:`,
        AUTH_SECRET: testSecret,
        DATABASE_POOL_MAX: '20',
      };
      servers = await Promise.all([0, 1, 2].map(() => startServerProcess(env)));
      urls = servers.map((server) => server.url);
      db = connectPostgres({ url: postgresUrl, poolMax: 4, searchPath: schema });
    } else {
      // PGlite is one process's embedded database: one server, still real sockets.
      inProcess = await startTestApp();
      urls = [await inProcess.app.listen({ port: 0, host: '127.0.0.1' })];
      db = inProcess.runtime.db;
    }
  });

  after(async () => {
    await call.close();
    await Promise.all(servers.map((server) => server.stop()));
    if (inProcess) await inProcess.close();
    else await db.close();
    if (schema) {
      await dropSchema(schema);
      await deleteRedisKeys(redisUrl, `bxt:${schema}:`);
    }
  });

  test('when 240 buyers race for 60 seats, then no seat is sold twice and every 201 is recorded', async () => {
    const seed = seedFromEnv();
    console.log(`concurrency seed: ${seed} (replay with TEST_SEED=${seed})`);
    const eventId = await createStormEvent(call, urls[0]!, 6, 10);
    const options = { call, urls, eventId, seatsInEvent: 60, buyers: 240, rounds: 3, seed };
    await verifyStorm(db, options, await runStorm(options));
  });
});
