// 240 buyers race overlapping multi-seat holds (seat ids in random order), confirms and
// cancels through real HTTP; on PostgreSQL across three server processes sharing one
// Redis (the hot path). Afterwards the database must show: no seat in two live holds or
// bookings, no partial hold, every 201 recorded as answered, and no 5xx along the way.
import { after, before, describe, test } from 'node:test';
import { testDb } from '../support/harness.ts';
import { seedFromEnv } from '../support/random.ts';
import {
  createStormEvent,
  httpCaller,
  runStorm,
  startStormServers,
  type StormServers,
  verifyStorm,
} from '../support/storm.ts';

describe(`concurrent buyers on ${testDb}`, () => {
  let servers: StormServers;
  const call = httpCaller();

  before(async () => {
    servers = await startStormServers();
  });

  after(async () => {
    await call.close();
    await servers.close();
  });

  test('when 240 buyers race for 60 seats, then no seat is sold twice and every 201 is recorded', async () => {
    const seed = seedFromEnv();
    console.log(`concurrency seed: ${seed} (replay with TEST_SEED=${seed})`);
    const { urls, db } = servers;
    const eventId = await createStormEvent(call, urls[0]!, 6, 10);
    const options = { call, urls, eventId, seatsInEvent: 60, buyers: 240, rounds: 3, seed };
    await verifyStorm(db, options, await runStorm(options));
  });
});
