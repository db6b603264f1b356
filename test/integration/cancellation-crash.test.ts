// Server processes SIGKILLed in the middle of giving money back, against a payment provider
// whose books outlive them (the Stripe stand-in, test/support/stripe-stand-in.ts, driven by
// the official SDK): the job refunding a cancelled event's bookings, killed halfway while the
// provider made a refund whose answer the process never read, is finished by the next
// process, every booking refunded exactly once; a buyer's cancellation and a provider webhook
// (the bank's yes for a hold already given up), killed after they were written and before
// their refunds were sent, are refunded once each by the next process's refund job, and the
// webhook delivered again changes nothing.
//
// The second test kills the process while PostgreSQL runs those two statements: the test
// holds each reservation's row lock (both statements take it first), kills the process while
// they wait, then lets go. Each statement then finishes and commits (its Sync was sent with
// it, and PostgreSQL does not look for the client while it waits: client_connection_check_interval
// is 0), so the process died after the write and before anything that follows it.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { Agent, request } from 'undici';
import { connectPostgres, type Database } from '../../src/adapters/postgres/database.ts';
import {
  checkInvariants,
  createSchema,
  deleteRedisKeys,
  dropSchema,
  eventBody,
  postgresUrl,
  postgresUrlFor,
  redisUrl,
  signToken,
  testDb,
  testSecret,
} from '../support/harness.ts';
import { moneyProblems as sharedMoneyProblems } from '../support/money.ts';
import { startServerProcess, type ServerProcess } from '../support/processes.ts';
import { type StripeStandIn, startStripeStandIn } from '../support/stripe-stand-in.ts';

const webhookSecret = 'whsec_cancellation_crash';
const organizer = 'crash-organizer';
const bookingsCount = 200;
/** The event cancellation job's server is killed while the provider makes this refund. */
const killAtRefund = 90;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// any: JSON answers, read field by field by the assertions.
type Answer = { status: number; body: any };

describe(
  'server processes killed while money is given back',
  { skip: testDb !== 'postgres' && 'a second process needs PostgreSQL' },
  () => {
    let schema: string;
    let db: Database;
    let watcher: Database;
    let standIn: StripeStandIn;
    const servers: ServerProcess[] = [];
    /** Payments waiting on the bank when their event was cancelled: voided in the end. */
    const pendingOfCancelledEvent: string[] = [];
    const agent = new Agent({ connections: 64 });

    before(async () => {
      schema = await createSchema();
      db = connectPostgres({ url: postgresUrl, poolMax: 4, searchPath: schema });
      watcher = connectPostgres({ url: postgresUrl, poolMax: 1 });
      standIn = await startStripeStandIn({ webhookSecret });
    });
    after(async () => {
      await Promise.all(servers.map((server) => server.stop()));
      await agent.close();
      await standIn?.close();
      await db?.close();
      await watcher?.close();
      if (schema) {
        await dropSchema(schema);
        await deleteRedisKeys(redisUrl, `bxt:${schema}:`);
      }
    });

    const applicationName = (round: number) => `cancel-crash-${schema}-${round}`;

    /** The next server process; the provider's webhooks go to it from now on. */
    const startServer = async (round: number, env: Record<string, string> = {}) => {
      const server = await startServerProcess(
        {
          DATABASE_URL: `${postgresUrlFor(schema)}&application_name=${applicationName(round)}`,
          REDIS_URL: redisUrl,
          REDIS_KEY_PREFIX: `bxt:${schema}:`,
          AUTH_SECRET: testSecret,
          PAYMENT_PROVIDER: 'stripe',
          STRIPE_SECRET_KEY: standIn.secretKey,
          STRIPE_WEBHOOK_SECRET: webhookSecret,
          STRIPE_API_BASE: standIn.url,
          SWEEP_INTERVAL_MS: '100',
          SWEEP_BATCH_SIZE: '25',
          IDEMPOTENCY_IN_FLIGHT_STALE_MS: '1000',
          REFUND_RETRY_BASE_MS: '100',
          REFUND_RETRY_MAX_MS: '500',
          ...env,
        },
        60_000,
      );
      servers.push(server);
      standIn.setWebhookUrl(`${server.url}/v1/payments/webhook`);
      await standIn.resumeWebhooks(); // with what the killed one could not take
      return server;
    };

    const call = async (
      server: ServerProcess,
      method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
      path: string,
      token: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ): Promise<Answer> => {
      const response = await request(`${server.url}${path}`, {
        method,
        dispatcher: agent,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body ? JSON.stringify(body) : undefined,
      });
      const text = await response.body.text();
      return { status: response.statusCode, body: text ? JSON.parse(text) : null };
    };

    const createEvent = async (server: ServerProcess, rows: number, overrides: Record<string, unknown> = {}) => {
      const created = await call(
        server,
        'POST',
        '/v1/events',
        await signToken(organizer, 'organizer'),
        eventBody({
          max_seats_per_user: 8,
          seat_map: {
            sections: [
              {
                name: 'A',
                price_tier: 'front',
                rows: Array.from({ length: rows }, (_, i) => ({ label: `${i + 1}`, seats: 10 })),
              },
            ],
          },
          ...overrides,
        }),
      );
      assert.equal(created.status, 201, JSON.stringify(created.body));
      return created.body.event_id as string;
    };

    const hold = async (server: ServerProcess, eventId: string, user: string, seatNos: number[]) => {
      const held = await call(server, 'POST', `/v1/events/${eventId}/reservations`, await signToken(user), {
        seat_ids: seatNos.map((seatNo) => `s${seatNo}`),
      });
      assert.equal(held.status, 201, JSON.stringify(held.body));
      return held.body.reservation_id as string;
    };

    const confirm = async (
      server: ServerProcess,
      user: string,
      reservationId: string,
      key: string,
      paymentMethod = 'pm_card_visa',
    ) =>
      call(
        server,
        'POST',
        `/v1/reservations/${reservationId}/confirm`,
        await signToken(user),
        { payment_method: paymentMethod },
        { 'idempotency-key': key },
      );

    /** Until the killed server's backends are gone (each finished, or rolled back, what it ran). */
    const backendsGone = async (round: number) => {
      for (let i = 0; i < 400; i += 1) {
        const { rows } = await watcher.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
          [applicationName(round)],
        );
        if (rows[0]!.n === 0) return;
        await sleep(25);
      }
      assert.fail('the killed server still has backends in PostgreSQL after 10 s');
    };

    /** Until this round's server has a statement naming this function waiting on a lock. */
    const waitingOnLock = async (round: number, statement: string) => {
      for (let i = 0; i < 500; i += 1) {
        const { rows } = await watcher.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE application_name = $1 AND wait_event_type = 'Lock' AND query LIKE $2`,
          [applicationName(round), `%${statement}%`],
        );
        if (rows[0]!.n > 0) return;
        await sleep(10);
      }
      assert.fail(`${statement} was not seen waiting on the reservation's lock within 5 s`);
    };

    /** Holds a reservation's row lock in a transaction of the test's own until released. */
    const lockReservation = async (reservationId: string) => {
      const client = new pg.Client({ connectionString: postgresUrlFor(schema) });
      await client.connect();
      await client.query('BEGIN');
      await client.query('SELECT 1 FROM reservations WHERE id = $1 FOR UPDATE', [reservationId]);
      return async () => {
        await client.query('ROLLBACK');
        await client.end();
      };
    };

    const kill = async (server: ServerProcess) => {
      const { child } = server;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGKILL');
        await exited;
      }
      assert.equal(child.signalCode, 'SIGKILL');
    };

    const until = async (what: string, done: () => Promise<boolean>, timeoutMs = 20_000) => {
      const deadline = Date.now() + timeoutMs;
      while (!(await done())) {
        if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs / 1000} s`);
        await sleep(100);
      }
    };

    /** The provider's refunds of a charge that did not fail. */
    const refundsAtProvider = (chargeId: string) =>
      standIn.refunds().filter((refund) => refund.payment_intent === chargeId && refund.status !== 'failed');

    /** Money, in PostgreSQL against the provider, booking by booking: what every test here ends with. */
    const moneyProblems = async ({ paymentsSettled = true } = {}) => {
      const problems: string[] = [];
      const { rows } = await db.query<{
        id: string;
        charge_id: string;
        total_cents: string;
        kept: string;
        refunded: string;
        fees: string;
        refund_ids: string[];
      }>(
        `SELECT b.id, b.charge_id, b.total_cents,
           (SELECT coalesce(sum(s.price_cents), 0) FROM seats s WHERE s.event_id = b.event_id AND s.seat_no = ANY(b.seat_nos)) AS kept,
           (SELECT coalesce(sum(f.amount_cents), 0) FROM refunds f WHERE f.booking_id = b.id) AS refunded,
           (SELECT coalesce(sum(f.fee_cents), 0) FROM refunds f WHERE f.booking_id = b.id) AS fees,
           coalesce((SELECT array_agg(f.provider_refund_id) FROM refunds f WHERE f.booking_id = b.id), '{}') AS refund_ids
         FROM bookings b`,
      );
      for (const b of rows) {
        const [total, kept, refunded, fees] = [b.total_cents, b.kept, b.refunded, b.fees].map(Number);
        if (total !== kept! + refunded! + fees!)
          problems.push(`booking ${b.id}: ${total} ≠ ${kept} + ${refunded} + ${fees}`);
        const made = refundsAtProvider(b.charge_id);
        if (made.reduce((sum, refund) => sum + refund.amount, 0) !== refunded) {
          problems.push(
            `booking ${b.id}: the provider refunded ${made.map((refund) => refund.amount)}, the ledger ${refunded}`,
          );
        }
        if (
          made
            .map((refund) => refund.id)
            .sort()
            .join() !== [...b.refund_ids].sort().join()
        ) {
          problems.push(`booking ${b.id}: the provider's refunds ${made.map((refund) => refund.id)} ≠ ${b.refund_ids}`);
        }
      }
      const { rows: open } = await db.query<{ what: string; n: number }>(
        `SELECT 'refunds not made' AS what, count(*)::int AS n FROM refunds WHERE status <> 'succeeded'
         UNION ALL SELECT 'payments open', count(*)::int FROM payments WHERE status IN ('started', 'requires_action', 'processing')`,
      );
      for (const row of open) {
        if (row.n > 0 && (paymentsSettled || row.what !== 'payments open')) problems.push(`${row.n} ${row.what}`);
      }
      return problems;
    };

    test('when the server is SIGKILLed halfway through an event cancellation, then the next one finishes it: every booking refunded exactly once, every seat free', async () => {
      let server = await startServer(0);
      const eventId = await createEvent(server, 22); // 220 seats
      const startedMs = Date.now();

      // A few hundred bookings (one seat each, four per buyer), a few live holds and two
      // payments waiting on the buyer's bank.
      const bookings = new Map<string, { chargeId: string | null; seatNo: number }>();
      let next = 0;
      await Promise.all(
        Array.from({ length: 20 }, async () => {
          while (next < bookingsCount) {
            const seatNo = next++;
            const user = `crash-buyer-${seatNo % 50}`;
            const reservationId = await hold(server, eventId, user, [seatNo]);
            const confirmed = await confirm(server, user, reservationId, `book-${seatNo}`);
            assert.equal(confirmed.status, 201, JSON.stringify(confirmed.body));
            bookings.set(confirmed.body.booking_id, { chargeId: null, seatNo });
          }
        }),
      );
      for (const seatNo of [200, 201, 202]) await hold(server, eventId, `holder-${seatNo}`, [seatNo]);
      const pendingCharges: string[] = [];
      for (const seatNo of [203, 204]) {
        const reservationId = await hold(server, eventId, `holder-${seatNo}`, [seatNo]);
        const pending = await confirm(
          server,
          `holder-${seatNo}`,
          reservationId,
          'pay',
          'pm_card_threeDSecure2Required',
        );
        assert.equal(pending.status, 202, JSON.stringify(pending.body));
        pendingCharges.push(pending.body.payment.payment_id);
      }
      const bookedMs = Date.now();
      await standIn.webhooksSettled();

      // The provider answers each refund a little late; the job's server dies while it waits
      // for the answer to the killAtRefund-th (made at the provider, its answer never read).
      let refundsSent = 0;
      let inFlight: string | undefined;
      const killed = new Promise<void>((resolve) => {
        standIn.delayMsFor = (method, path) => {
          if (method !== 'POST' || path !== '/v1/refunds') return 0;
          refundsSent += 1;
          if (refundsSent === killAtRefund) {
            inFlight = standIn.refunds().at(-1)!.metadata.refund_id;
            standIn.pauseWebhooks(); // its refund.created delivery fails and is held for the next process
            server.child.kill('SIGKILL');
            resolve();
          }
          return 10;
        };
      });
      const organizerToken = await signToken(organizer, 'organizer');
      const cancelled = await call(server, 'PATCH', `/v1/events/${eventId}`, organizerToken, { status: 'cancelled' });
      assert.equal(cancelled.status, 200, JSON.stringify(cancelled.body));
      const cancelledMs = Date.now();

      // The organizer watches it run.
      const seen: { status: string; bookings: number | null; refunded: number }[] = [];
      const watching = (async () => {
        for (;;) {
          const progress = await call(server, 'GET', `/v1/events/${eventId}/cancellation`, organizerToken).catch(
            () => null,
          );
          if (!progress) return; // the server is gone
          assert.equal(progress.status, 200, JSON.stringify(progress.body));
          seen.push(progress.body);
          await sleep(50);
        }
      })();
      let giveUp: NodeJS.Timeout | undefined;
      await Promise.race([killed, new Promise((resolve) => (giveUp = setTimeout(resolve, 30_000)))]);
      clearTimeout(giveUp); // a pending timer would keep this test's process alive after it
      assert.equal(refundsSent, killAtRefund, 'the job was killed while the provider made a refund');
      await kill(server);
      await watching;
      const killedMs = Date.now();
      await backendsGone(0);
      const midway = seen.filter((progress) => progress.bookings === bookingsCount && progress.refunded > 0);
      assert.ok(
        midway.length > 0 && midway.every((progress) => progress.status === 'running'),
        `the organizer saw it running with some refunded: ${JSON.stringify(seen.slice(-3))}`,
      );
      assert.ok(midway.at(-1)!.refunded < bookingsCount, 'and not all');

      // Halfway: some bookings taken back, the rest not; the refund in flight is made at the
      // provider, and the ledger does not know it yet.
      const { rows: halfway } = await db.query<{ taken_back: number; written: number }>(
        `SELECT (SELECT count(*)::int FROM bookings WHERE event_id = $1 AND cardinality(seat_nos) = 0) AS taken_back,
                (SELECT count(*)::int FROM refunds f JOIN bookings b ON b.id = f.booking_id WHERE b.event_id = $1) AS written`,
        [eventId],
      );
      assert.ok(
        halfway[0]!.taken_back >= killAtRefund && halfway[0]!.taken_back < bookingsCount,
        JSON.stringify(halfway),
      );
      assert.equal(halfway[0]!.written, halfway[0]!.taken_back, 'each booking taken back has its refund written');
      const { rows: flying } = await db.query<{ status: string; provider_refund_id: string | null }>(
        'SELECT status, provider_refund_id FROM refunds WHERE id = $1',
        [inFlight],
      );
      assert.deepEqual(flying, [{ status: 'pending', provider_refund_id: null }], 'the refund in flight');

      // The next process finishes the job.
      standIn.delayMsFor = () => standIn.delayMs;
      server = await startServer(1, {
        // The next test kills this process while it applies a webhook for a payment whose hold
        // has ended: its settlement of ended payments must not void that payment first. (So
        // the payments that waited on the bank here are voided by the process after it.)
        IDEMPOTENCY_IN_FLIGHT_STALE_MS: '30000',
      });
      const restartedMs = Date.now();
      let progress: Answer | undefined;
      await until('the cancellation is done', async () => {
        progress = await call(server, 'GET', `/v1/events/${eventId}/cancellation`, organizerToken);
        return progress.body.status === 'done';
      });
      assert.equal(progress!.body.bookings, bookingsCount);
      assert.equal(progress!.body.refunded, bookingsCount);
      assert.equal(progress!.body.failed, 0);
      const doneMs = Date.now();

      // Every booking refunded exactly once, in full, at the provider and in the ledger.
      const { rows: refunds } = await db.query<{
        booking_id: string;
        charge_id: string;
        total_cents: string;
        status: string;
        seats_left: number;
        refunds: { id: string; amount: string; status: string; reason: string; provider_refund_id: string }[];
      }>(
        `SELECT b.id AS booking_id, b.charge_id, b.total_cents, b.status, cardinality(b.seat_nos) AS seats_left,
           coalesce((SELECT jsonb_agg(jsonb_build_object('id', f.id, 'amount', f.amount_cents, 'status', f.status,
                       'reason', f.reason, 'provider_refund_id', f.provider_refund_id))
                     FROM refunds f WHERE f.booking_id = b.id), '[]') AS refunds
         FROM bookings b WHERE b.event_id = $1`,
        [eventId],
      );
      assert.equal(refunds.length, bookingsCount);
      const wrong: string[] = [];
      for (const b of refunds) {
        const made = refundsAtProvider(b.charge_id);
        const [refund] = b.refunds;
        if (b.status !== 'cancelled' || b.seats_left !== 0) wrong.push(`booking ${b.booking_id} is ${b.status}`);
        if (b.refunds.length !== 1 || !refund) {
          wrong.push(`booking ${b.booking_id} has ${b.refunds.length} refunds`);
          continue;
        }
        if (
          refund.status !== 'succeeded' ||
          refund.reason !== 'event_cancelled' ||
          Number(refund.amount) !== Number(b.total_cents)
        ) {
          wrong.push(`booking ${b.booking_id}: refund ${JSON.stringify(refund)}`);
        }
        if (
          made.length !== 1 ||
          made[0]!.amount !== Number(b.total_cents) ||
          made[0]!.id !== refund.provider_refund_id
        ) {
          wrong.push(`booking ${b.booking_id}: the provider made ${JSON.stringify(made.map((r) => [r.id, r.amount]))}`);
        }
      }
      assert.deepEqual(wrong, [], 'every booking refunded exactly once');
      const { rows: flown } = await db.query<{ status: string; provider_refund_id: string }>(
        'SELECT status, provider_refund_id FROM refunds WHERE id = $1',
        [inFlight],
      );
      assert.equal(flown[0]!.status, 'succeeded', 'the refund in flight at the kill is known made (its webhook)');
      assert.equal(standIn.refunds().filter((refund) => refund.metadata.refund_id === inFlight).length, 1);

      // Every seat free, no live hold (the payments that waited on the bank are voided later).
      const { rows: left } = await db.query<{ booked: number; held: number; active: number; booked_seats: number }>(
        `SELECT (SELECT count(*)::int FROM seats WHERE event_id = $1 AND booking_id IS NOT NULL) AS booked,
                (SELECT count(*)::int FROM seats WHERE event_id = $1 AND hold_token IS NOT NULL AND hold_expires_at > now()) AS held,
                (SELECT count(*)::int FROM reservations WHERE event_id = $1 AND status = 'active') AS active,
                (SELECT count(*)::int FROM booked_seats WHERE event_id = $1) AS booked_seats`,
        [eventId],
      );
      assert.deepEqual(left, [{ booked: 0, held: 0, active: 0, booked_seats: 0 }]);
      pendingOfCancelledEvent.push(...pendingCharges);
      assert.deepEqual(await checkInvariants(db), []);
      assert.deepEqual(await moneyProblems({ paymentsSettled: false }), []);
      assert.deepEqual(await sharedMoneyProblems(db, { provider: standIn, settled: true }), [], 'the money invariant');
      console.log(
        `event cancellation crash: ${bookingsCount} bookings in ${((bookedMs - startedMs) / 1000).toFixed(1)} s; ` +
          `killed ${((killedMs - cancelledMs) / 1000).toFixed(1)} s into the job at refund ${killAtRefund} ` +
          `(${halfway[0]!.taken_back} bookings taken back; the organizer saw ${midway.at(-1)!.refunded} refunded); ` +
          `the next process finished it ${((doneMs - restartedMs) / 1000).toFixed(1)} s after it was ready`,
      );
    });

    test("when the server is SIGKILLed after a buyer's cancellation and a webhook were written and before their refunds were sent, then the next one sends each refund once", async () => {
      let server = servers.at(-1)!;
      const round = servers.length - 1;
      assert.ok(
        server.child.exitCode === null && server.child.signalCode === null,
        `the server of the last test is gone (${server.child.exitCode ?? server.child.signalCode}):\n${server.output()}`,
      );
      const eventId = await createEvent(server, 2, {
        refund_policy: { buyer_cancel_until_hours: 48, fee_percent: 10 },
      });

      // A buyer with a booking of two seats, who will cancel it.
      const canceller = 'crash-canceller';
      const cancellerToken = await signToken(canceller);
      const booked = await hold(server, eventId, canceller, [0, 1]);
      const confirmed = await confirm(server, canceller, booked, 'buy');
      assert.equal(confirmed.status, 201, JSON.stringify(confirmed.body));
      const bookingId: string = confirmed.body.booking_id;
      const { rows: charged } = await db.query<{ charge_id: string }>('SELECT charge_id FROM bookings WHERE id = $1', [
        bookingId,
      ]);
      const bookingCharge = charged[0]!.charge_id;
      // A buyer who gave up their hold while their bank asked for 3-D Secure; the bank then says yes.
      const payer = 'crash-bank';
      const payerToken = await signToken(payer);
      const lost = await hold(server, eventId, payer, [2]);
      const pending = await confirm(server, payer, lost, 'pay', 'pm_card_threeDSecure2Required');
      assert.equal(pending.status, 202, JSON.stringify(pending.body));
      const lostCharge: string = pending.body.payment.payment_id;
      await standIn.webhooksSettled();
      const gaveUp = await call(server, 'DELETE', `/v1/reservations/${lost}`, payerToken);
      assert.equal(gaveUp.status, 204);

      // Both statements wait on their reservation's lock; the server dies under them.
      const releases = [await lockReservation(booked), await lockReservation(lost)];
      const cancelling = call(
        server,
        'POST',
        `/v1/bookings/${bookingId}/cancel`,
        cancellerToken,
        {},
        { 'idempotency-key': 'give-back' },
      ).then(
        (answer) => answer,
        (error: unknown) => error, // expected: the server dies under it
      );
      standIn.complete(lostCharge, 'succeeded');
      await waitingOnLock(round, 'cancel_booking');
      await waitingOnLock(round, 'settle_payment');
      standIn.pauseWebhooks(); // the failed delivery is held for the next process
      await kill(server);
      assert.ok((await cancelling) instanceof Error, 'the buyer got no answer');
      for (const release of releases) await release();
      await backendsGone(round);

      // Written, not sent: the booking is cancelled and the webhook applied (once, its event
      // recorded), each refund pending and never tried.
      const event = standIn.webhookDeliveries.find(
        (delivery) => delivery.type === 'payment_intent.succeeded' && !delivery.ok,
      );
      assert.ok(event, "the webhook's delivery failed with the server");
      const { rows: written } = await db.query<{ charge_id: string; reason: string; status: string; attempts: number }>(
        `SELECT p.charge_id, f.reason, f.status, f.attempts FROM refunds f JOIN payments p ON p.id = f.payment_id
         WHERE p.charge_id = ANY($1) ORDER BY f.reason`,
        [[bookingCharge, lostCharge]],
      );
      assert.deepEqual(written, [
        { charge_id: bookingCharge, reason: 'buyer_cancelled', status: 'pending', attempts: 0 },
        { charge_id: lostCharge, reason: 'hold_lost', status: 'pending', attempts: 0 },
      ]);
      const { rows: applied } = await db.query<{ events: number; booking: string; payment: string }>(
        `SELECT (SELECT count(*)::int FROM provider_events WHERE id = $1) AS events,
                (SELECT status FROM bookings WHERE id = $2) AS booking,
                (SELECT status FROM payments WHERE charge_id = $3) AS payment`,
        [event.eventId, bookingId, lostCharge],
      );
      assert.deepEqual(applied, [{ events: 1, booking: 'cancelled', payment: 'succeeded' }]);
      assert.deepEqual([...refundsAtProvider(bookingCharge), ...refundsAtProvider(lostCharge)], [], 'nothing sent');

      // The next process's refund job sends each once; the event delivered again changes nothing.
      server = await startServer(round + 1);
      await until('both refunds are made and known', async () => {
        const { rows } = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM refunds f JOIN payments p ON p.id = f.payment_id
           WHERE p.charge_id = ANY($1) AND f.status = 'succeeded'`,
          [[bookingCharge, lostCharge]],
        );
        return rows[0]!.n === 2;
      });
      await until('the event is delivered again', async () =>
        standIn.webhookDeliveries.some((delivery) => delivery.eventId === event.eventId && delivery.ok),
      );
      assert.deepEqual(
        refundsAtProvider(bookingCharge).map((refund) => refund.amount),
        [18_000],
        'the cancellation refunded once: two seats of 10,000 less the 10% fee',
      );
      assert.deepEqual(
        refundsAtProvider(lostCharge).map((refund) => refund.amount),
        [10_000],
        'the charge that bought nothing refunded once, in full',
      );
      const { rows: once } = await db.query<{ events: number; bookings: number }>(
        `SELECT (SELECT count(*)::int FROM provider_events WHERE id = $1) AS events,
                (SELECT count(*)::int FROM bookings WHERE reservation_id = $2) AS bookings`,
        [event.eventId, lost],
      );
      assert.deepEqual(once, [{ events: 1, bookings: 0 }]);

      // The buyers retry: the cancellation answers the cancelled booking, the payment the lost hold.
      const again = await call(
        server,
        'POST',
        `/v1/bookings/${bookingId}/cancel`,
        cancellerToken,
        {},
        { 'idempotency-key': 'give-back' },
      );
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.body.status, 'cancelled');
      assert.deepEqual(
        again.body.refunds.map((refund: { amount_cents: number; status: string }) => [
          refund.amount_cents,
          refund.status,
        ]),
        [[18_000, 'succeeded']],
      );
      const retried = await confirm(server, payer, lost, 'pay', 'pm_card_threeDSecure2Required');
      assert.equal(retried.status, 410, JSON.stringify(retried.body));
      assert.equal(retried.body.refunded, true);
      assert.equal(
        refundsAtProvider(bookingCharge).length + refundsAtProvider(lostCharge).length,
        2,
        'still once each',
      );

      // And the payments that waited on the bank when the first test's event was cancelled are voided.
      await until('no payment is open', async () => {
        const { rows } = await db.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM payments WHERE status IN ('started', 'requires_action', 'processing')`,
        );
        return rows[0]!.n === 0;
      });
      for (const chargeId of pendingOfCancelledEvent) {
        assert.equal(standIn.charges().find((charge) => charge.id === chargeId)?.status, 'canceled', chargeId);
      }
      assert.deepEqual(await checkInvariants(db), []);
      assert.deepEqual(await moneyProblems(), []);
      assert.deepEqual(await sharedMoneyProblems(db, { provider: standIn, settled: true }), [], 'the money invariant');
    });
  },
);
