// A server process SIGKILLed mid-payment, right after the provider charged and before the
// charge was recorded: after it, whatever confirmation comes next, the buyer has one
// booking, the charge that paid for it is kept, and every other charge is refunded once.
// The provider's ledger lives in PostgreSQL (test/support/ledger-payments.ts), so it
// outlives the killed process as a real provider would.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { settleRefunds } from '../../src/app/confirm-reservation.ts';
import {
  auth,
  checkInvariants,
  confirmReservation,
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
import { LedgerPayments } from '../support/ledger-payments.ts';

const staleMs = 1_000;

describe('a process killed mid-payment', { skip: testDb !== 'postgres' && 'a second process needs PostgreSQL' }, () => {
  let schema: string;
  let t: TestApp;
  let ledger: LedgerPayments;
  let eventId: string;

  before(async () => {
    schema = await createSchema();
    ledger = new LedgerPayments(postgresUrlFor(schema));
    await ledger.createLedger();
    t = await startTestApp({ schema, payments: ledger, env: { IDEMPOTENCY_IN_FLIGHT_STALE_MS: String(staleMs) } });
    eventId = await createEvent(t);
  });
  after(async () => {
    await t?.close();
    await ledger?.close();
    if (schema) await dropSchema(schema);
  });

  const hold = (user: string, seatId: string) => holdSeats(t, eventId, user, [seatId]);
  const confirm = (user: string, reservationId: string, key: string) => confirmReservation(t, user, reservationId, key);

  /** Runs the confirm in a server process of its own and SIGKILLs it right after the charge. */
  const confirmAndKill = async (user: string, reservationId: string, key: string) => {
    await runUntilThenKill(
      'test/support/confirm-and-die.ts',
      [user, reservationId, key],
      {
        DATABASE_URL: postgresUrlFor(schema),
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: t.config.REDIS_KEY_PREFIX,
        AUTH_SECRET: testSecret,
        IDEMPOTENCY_IN_FLIGHT_STALE_MS: String(staleMs),
      },
      'charged ',
    );
    await new Promise((resolve) => setTimeout(resolve, staleMs + 100)); // its claims go stale
  };

  const bookedCharges = async (reservationId: string) =>
    (
      await t.runtime.db.query<{ charge_id: string }>('SELECT charge_id FROM bookings WHERE reservation_id = $1', [
        reservationId,
      ])
    ).rows.map((row) => row.charge_id);

  test('when it is killed after charging and the same key is retried, then the retry books with that one charge', async () => {
    const reservationId = await hold('killed-retry', 's0');
    await confirmAndKill('killed-retry', reservationId, 'kill-key');
    assert.equal((await ledger.chargesOf(reservationId)).length, 1, 'the card was charged before the kill');
    const retried = await confirm('killed-retry', reservationId, 'kill-key');
    assert.equal(retried.statusCode, 201, retried.body);
    await new Promise((resolve) => setTimeout(resolve, staleMs + 100));
    await settleRefunds(t.runtime.deps, 100);
    const charges = await ledger.chargesOf(reservationId);
    assert.deepEqual(
      await bookedCharges(reservationId),
      [charges[0]!.charge_id],
      'booked with the charge made before the kill',
    );
    assert.deepEqual(
      charges.map((charge) => charge.refunded),
      [false],
      'one charge, kept',
    );
    assert.deepEqual(await checkInvariants(t), []);
  });

  test('when it is killed after charging and another key pays, then that booking keeps its charge and the killed one is refunded', async () => {
    const reservationId = await hold('killed-other-tab', 's1');
    await confirmAndKill('killed-other-tab', reservationId, 'tab-1');
    const other = await confirm('killed-other-tab', reservationId, 'tab-2');
    assert.equal(other.statusCode, 201, other.body);
    const [booked] = await bookedCharges(reservationId);
    await new Promise((resolve) => setTimeout(resolve, staleMs + 100));
    await settleRefunds(t.runtime.deps, 100);
    await settleRefunds(t.runtime.deps, 100);
    const charges = await ledger.chargesOf(reservationId);
    assert.equal(charges.length, 2, 'the killed payment and the new one');
    for (const charge of charges) {
      assert.equal(charge.refunded, charge.charge_id !== booked, charge.charge_id === booked ? 'booking' : 'killed');
    }
    const replay = await confirm('killed-other-tab', reservationId, 'tab-2');
    assert.deepEqual(replay.json(), other.json(), 'the answer is kept');
    assert.deepEqual(await checkInvariants(t), []);
  });

  test('when it is killed after charging and the hold is cancelled, then settlement refunds the charge once and nothing is booked', async () => {
    const reservationId = await hold('killed-cancel', 's2');
    await confirmAndKill('killed-cancel', reservationId, 'cancel-key');
    const cancelled = await t.app.inject({
      method: 'DELETE',
      url: `/v1/reservations/${reservationId}`,
      headers: auth(await t.token('killed-cancel')),
    });
    assert.equal(cancelled.statusCode, 204);
    await new Promise((resolve) => setTimeout(resolve, staleMs + 100));
    await settleRefunds(t.runtime.deps, 100);
    const retried = await confirm('killed-cancel', reservationId, 'cancel-key');
    assert.equal(retried.json().code, 'RESERVATION_CANCELLED', retried.body);
    assert.deepEqual(await bookedCharges(reservationId), []);
    assert.deepEqual(
      (await ledger.chargesOf(reservationId)).map((charge) => charge.refunded),
      [true],
    );
    assert.deepEqual(await checkInvariants(t), []);
  });
});
