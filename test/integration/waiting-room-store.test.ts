// The waiting room's fairness and rate against the room each pass runs: Redis (shared by every
// process) on the PostgreSQL pass, the in-process room on the PGlite pass. The checks are the
// unit tests' (test/support/waiting-room-checks.ts); here they meet the Lua scripts, and three
// separate Redis clients stand for three processes ticking one room at once.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { MemoryWaitingRoom } from '../../src/adapters/memory/waiting-room.ts';
import { RedisWaitingRoom } from '../../src/adapters/redis/waiting-room.ts';
import type { WaitingRoom } from '../../src/app/ports/waiting-room.ts';
import { deleteRedisKeys, redisUrl, testDb } from '../support/harness.ts';
import { seedFromEnv } from '../support/random.ts';
import {
  assertUniformShuffle,
  checkAdmissionNotices,
  checkAdmissionRates,
  checkCapAtRandom,
  checkCapSlots,
  checkFirstComeAfterOpening,
  seededWords,
  tallyPreQueueShuffles,
} from '../support/waiting-room-checks.ts';

const onRedis = testDb === 'postgres';
const kind = onRedis ? 'Redis' : 'in-process';

describe(`waiting room store (${kind})`, () => {
  const prefix = `bxt:wr-${randomBytes(6).toString('hex')}:`;
  const clients: Redis[] = [];
  /** Three callers of one room: three clients (processes) on Redis, one shared room in process. */
  let rooms: WaitingRoom[];

  before(async () => {
    if (!onRedis) {
      const room = new MemoryWaitingRoom();
      rooms = [room, room, room];
      return;
    }
    for (let index = 0; index < 3; index += 1) {
      const client = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
      await client.connect();
      clients.push(client);
    }
    rooms = clients.map((client) => new RedisWaitingRoom(client, prefix));
  });

  after(async () => {
    await Promise.all(rooms.map((room) => room.close()));
    if (!onRedis) return;
    await deleteRedisKeys(redisUrl, prefix);
    const [, left] = await clients[0]!.scan('0', 'MATCH', `${prefix}*`, 'COUNT', 100_000);
    await Promise.all(clients.map((client) => client.quit()));
    assert.deepEqual(left, [], 'the test leaves no keys behind');
  });

  test('when 4 users join before the opening 2,000 times in the same order, then every admission order is equally likely', async () => {
    const seed = 20270111; // fixed: a statistical test at p = 0.001 must not fail one run in a thousand
    console.log(`${kind} pre-queue fairness seed: ${seed}`);
    const tally = await tallyPreQueueShuffles(rooms[0]!, {
      runs: 2_000,
      users: 4,
      words: seededWords(seed),
      eventPrefix: 'fair-',
      parallel: 50,
    });
    assert.equal(tally.orders.size, 24, 'every one of the 4! orders comes out');
    assertUniformShuffle(tally, `${kind} pre-queue`);
  });

  test('when users join after the opening, then they are admitted strictly in arrival order, after the whole pre-queue', async () => {
    const seed = seedFromEnv();
    console.log(`${kind} first-come seed: ${seed} (replay with TEST_SEED=${seed})`);
    for (let run = 0; run < 5; run += 1) await checkFirstComeAfterOpening(rooms[run % 3]!, `fcfs-${run}`, seed + run);
  });

  test('when three callers tick one at a time at irregular instants, then every window admits at most burst + rate·T', async () => {
    const seed = seedFromEnv();
    console.log(`${kind} admission rate seed: ${seed} (replay with TEST_SEED=${seed})`);
    const options = { seed, scenarios: 8, concurrent: false, maxAdmissions: 1_500, label: kind };
    await checkAdmissionRates(rooms, { ...options, regular: false, eventPrefix: 'rate-' });
    await checkAdmissionRates(rooms, { ...options, seed: seed + 1, regular: true, eventPrefix: 'live-' });
  });

  test('when three processes tick at the same instants at once, then together they admit at most burst + rate·T, nobody twice', async () => {
    const seed = seedFromEnv();
    console.log(`${kind} concurrent admission seed: ${seed} (replay with TEST_SEED=${seed})`);
    const options = { seed, scenarios: 8, concurrent: true, maxAdmissions: 1_500, label: `${kind}, all at once` };
    const admitted = await checkAdmissionRates(rooms, { ...options, regular: false, eventPrefix: 'together-' });
    await checkAdmissionRates(rooms, { ...options, seed: seed + 1, regular: true, eventPrefix: 'together-live-' });
    assert.ok(admitted > 0);
  });

  test('when the shopper cap is full, then nobody goes in until a shopper finishes or an admission ends', async () => {
    await checkCapSlots(rooms[0]!, 'cap');
  });

  test('when buyers who left an address are admitted, then each gets one "your turn" notice, handed on once', async () => {
    await checkAdmissionNotices(rooms, 'notices');
  });

  test('when shoppers come and go at random under three callers, then the admitted never exceed the cap', async () => {
    const seed = seedFromEnv();
    console.log(`${kind} shopper cap seed: ${seed} (replay with TEST_SEED=${seed})`);
    for (let run = 0; run < 4; run += 1) await checkCapAtRandom(rooms, `cap-${run}`, seed + run);
  });
});
