// The outbox and the bus across crashes (PostgreSQL and Redis Streams). A server process is
// SIGKILLed (test/support/relay-and-die.ts) right after its relay put a batch on the stream
// and before it committed the batch's stamp, and, separately, while its consumer was inside
// its transaction with the stream's entries delivered and unacknowledged. After each, the
// other process finishes: every fact is published, applied once, and its mail sent once.
// With Redis down, facts wait in PostgreSQL and flow when it is back.
// (The database bus, used without Redis, publishes by the relay's own stamp: a crash
// mid-batch is a rollback; tests/http/tickets.test.ts covers its redelivery on PGlite.)
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import type { MemoryMailer } from '../../src/adapters/memory/mailer.ts';
import {
  auth,
  createEvent,
  createSchema,
  dropSchema,
  holdSeats,
  postgresUrlFor,
  redisUrl,
  startTestApp,
  testDb,
  testSecret,
  type TestApp,
} from '../support/harness.ts';
import { runUntilThenKill } from '../support/kill-at.ts';
import { startRedisServer, type RedisServer } from '../support/redis.ts';

const claimIdleMs = 300;
const batchMax = 10;

async function buy(t: TestApp, eventId: string, user: string, seatId: string) {
  const reservationId = await holdSeats(t, eventId, user, [seatId]);
  const response = await t.app.inject({
    method: 'POST',
    url: `/v1/reservations/${reservationId}/confirm`,
    headers: {
      ...auth(await t.token(user, 'customer', { email: `${user}@example.com` })),
      'idempotency-key': `buy-${reservationId}`,
    },
    payload: { payment_method: 'pm_card_visa' },
  });
  assert.equal(response.statusCode, 201, response.body);
}

/** Every fact published, each applied once by the notifications consumer, each mail sent once. */
async function assertDeliveredOnce(t: TestApp, bookings: number) {
  const { rows } = await t.runtime.db.query<Record<string, number>>(
    `SELECT (SELECT count(*)::int FROM outbox WHERE type = 'booking.confirmed') AS facts,
            (SELECT count(*)::int FROM outbox WHERE published_seq IS NULL) AS unpublished,
            (SELECT count(*)::int FROM consumed_facts c JOIN outbox o ON o.fact_id = c.fact_id
              WHERE c.consumer = 'notifications' AND o.type = 'booking.confirmed') AS applied,
            (SELECT count(*)::int FROM mails WHERE kind = 'booking_confirmed') AS queued,
            (SELECT count(*)::int FROM mails WHERE kind = 'booking_confirmed' AND status = 'sent') AS sent`,
  );
  assert.deepEqual(rows[0], { facts: bookings, unpublished: 0, applied: bookings, queued: bookings, sent: bookings });
  const sent = (t.runtime.deps.mailer as MemoryMailer).sent.map((mail) => mail.id);
  assert.equal(sent.length, bookings, 'mails sent');
  assert.equal(new Set(sent).size, bookings, 'no mail sent twice');
}

describe('the outbox across crashes', { skip: testDb !== 'postgres' && 'a second process needs PostgreSQL' }, () => {
  let schema: string;
  let t: TestApp;
  let eventId: string;
  let booked = 0;

  before(async () => {
    schema = await createSchema();
    t = await startTestApp({
      schema,
      env: { OUTBOX_BATCH_MAX: String(batchMax), BUS_CLAIM_IDLE_MS: String(claimIdleMs) },
    });
    eventId = await createEvent(t);
  });
  after(async () => {
    await t?.close();
    if (schema) await dropSchema(schema);
  });

  const bookMore = async (count: number) => {
    for (let index = 0; index < count; index += 1) {
      await buy(t, eventId, `buyer-${booked}`, `s${booked}`);
      booked += 1;
    }
  };

  /** Runs the workers in a process of their own and SIGKILLs it at the moment. */
  const killAt = (moment: 'after-publish' | 'mid-apply') =>
    runUntilThenKill(
      'test/support/relay-and-die.ts',
      [moment],
      {
        DATABASE_URL: postgresUrlFor(schema),
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: t.config.REDIS_KEY_PREFIX,
        AUTH_SECRET: testSecret,
        DATA_DIR: 'memory://',
        OUTBOX_BATCH_MAX: String(batchMax),
        BUS_CLAIM_IDLE_MS: String(claimIdleMs),
      },
      'ready',
    );

  const streamLength = async () => {
    const redis = new Redis(redisUrl);
    try {
      return await redis.xlen(`${t.config.REDIS_KEY_PREFIX}facts`);
    } finally {
      redis.disconnect();
    }
  };

  test('when the relay dies after publishing a batch and before its commit, then the batch is published again and applied once', async () => {
    await bookMore(25);
    await killAt('after-publish');
    const stamped = await t.runtime.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM outbox WHERE published_seq IS NOT NULL',
    );
    assert.equal(stamped.rows[0]!.n, 0, 'the killed batch was not stamped');
    assert.equal(await streamLength(), batchMax, 'the killed batch reached the stream');
    await t.runtime.facts.drain();
    assert.equal(await streamLength(), batchMax + 25, 'the batch went out twice');
    await assertDeliveredOnce(t, booked);
  });

  test('when a consumer dies inside its transaction, then another process takes its entries over and applies them once', async () => {
    await bookMore(12);
    await killAt('mid-apply');
    const pending = await t.runtime.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM outbox o
       WHERE NOT EXISTS (SELECT 1 FROM consumed_facts c WHERE c.fact_id = o.fact_id AND c.consumer = 'notifications')
         AND o.type = 'booking.confirmed'`,
    );
    assert.equal(pending.rows[0]!.n, 12, 'the killed transaction applied nothing');
    // Past the claim idle time (and the bus's once-a-second look for dead consumers).
    await new Promise((resolve) => setTimeout(resolve, 1_100 + claimIdleMs));
    await t.runtime.facts.drain();
    await assertDeliveredOnce(t, booked);
  });
});

describe(
  'the outbox while Redis is down',
  { skip: testDb !== 'postgres' && 'the bus is Redis only with REDIS_URL' },
  () => {
    let redis: RedisServer;
    let t: TestApp;

    before(async () => {
      redis = await startRedisServer();
      t = await startTestApp({ env: { REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: '200' } });
    });
    after(async () => {
      await t?.close();
      await redis?.stop();
    });

    test('when Redis is down, then bookings go on, their facts wait in PostgreSQL, and flow once it is back', async () => {
      const eventId = await createEvent(t);
      await buy(t, eventId, 'early', 's0');
      await t.runtime.facts.drain();
      await redis.kill9();
      await buy(t, eventId, 'during-1', 's1');
      await buy(t, eventId, 'during-2', 's2');
      await assert.rejects(t.runtime.facts.drain());
      const waiting = await t.runtime.db.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM outbox WHERE published_seq IS NULL',
      );
      assert.ok(waiting.rows[0]!.n >= 2, `facts wait in the outbox (${waiting.rows[0]!.n})`);
      // A Redis restarted empty (no persistence here): the stream and its group are made again.
      await redis.restart();
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          await t.runtime.facts.drain();
          const sent = (t.runtime.deps.mailer as MemoryMailer).sent.map((mail) => mail.to);
          if (sent.includes('during-2@example.com')) break;
        } catch {
          // the clients are reconnecting
        }
        assert.ok(Date.now() < deadline, 'the waiting facts flowed within 10 s of Redis coming back');
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await assertDeliveredOnce(t, 3);
    });
  },
);
