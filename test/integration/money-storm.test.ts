// The money storm: buyers race holds and payments across three server processes paying
// through the Stripe adapter (the official SDK against test/support/stripe-stand-in.ts):
// cards that pay at once, 3-D Secure completed, failed, abandoned or cancelled under way,
// declines, same-key retries on two processes at once, two tabs paying one hold; then buyers
// cancel (whole and partial, twice at once), the organizer refunds, the provider's webhooks
// arrive on any process, twice, late and in reverse order, and some refunds fail. Once the
// sweepers have settled everything, PostgreSQL must show money right: every booking's charge
// is its seats' value plus what was refunded plus the fees kept, no seat refunded twice or
// both refunded and booked, the ledger agrees with the provider's own refunds per charge,
// every charge that bought nothing is refunded or cancelled, and every 2xx answered is there.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
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
import { moneyProblems } from '../support/money.ts';
import { startServerProcess, type ServerProcess } from '../support/processes.ts';
import { seedFromEnv, seededRandom } from '../support/random.ts';
import { httpCaller } from '../support/storm.ts';
import { type StripeStandIn, startStripeStandIn } from '../support/stripe-stand-in.ts';

const webhookSecret = 'whsec_money_storm';
const organizer = 'money-organizer';
const feePercent = 10;
const buyersCount = 40;
const roundsPerBuyer = 5;
/** No buyer starts a round after this (the storm is bounded in time as well as in count). */
const stormMs = 12_000;
/** How long the sweepers get to settle everything afterwards (an abandoned 3-D Secure payment keeps its hold 10 s). */
const settleMs = 30_000;
const pendingGraceSeconds = 10;
const holdTtlSeconds = 8;
const serverReadyMs = 60_000;

type Random = ReturnType<typeof seededRandom>;
// any: JSON answers, read field by field by the assertions.
type Answer = { status: number; body: any };

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const seatNoOf = (seatId: string) => Number(seatId.slice(1));

/** What the clients were answered with 2xx, to be found in PostgreSQL afterwards. */
interface Acknowledged {
  holds: Map<string, { user: string; seatNos: number[] }>;
  pending: Map<string, { reservationId: string }>;
  bookings: Map<string, { reservationId: string; user: string; seatNos: number[] }>;
  cancels: { bookingId: string; seatNos: number[] | null; by: 'buyer' | 'organizer'; status: string }[];
}

/**
 * The provider's webhook endpoint as a load balancer would be: each delivery to the next
 * process, and now and then a second copy to another process at the same time.
 */
async function startWebhookForwarder(targets: () => string[], random: Random) {
  const agent = new Agent({ connections: 64 });
  const tally = { deliveries: 0, concurrentCopies: 0, results: new Map<string, number>() };
  let next = 0;
  const post = async (base: string, body: Buffer, signature: string) => {
    const response = await request(`${base}/v1/payments/webhook`, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', 'stripe-signature': signature },
      body,
    });
    const text = await response.body.text();
    const result = response.statusCode === 200 ? (JSON.parse(text) as { result: string }).result : 'refused';
    tally.results.set(result, (tally.results.get(result) ?? 0) + 1);
    return response.statusCode;
  };
  const server = http.createServer((incoming, outgoing) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const body = Buffer.concat(chunks);
      const signature = String(incoming.headers['stripe-signature'] ?? '');
      const urls = targets();
      tally.deliveries += 1;
      const copies = [post(urls[next++ % urls.length]!, body, signature)];
      if (random.next() < 0.15) {
        tally.concurrentCopies += 1;
        copies.push(post(urls[next % urls.length]!, body, signature).catch(() => 0));
      }
      copies[0]!.then(
        (status) => outgoing.writeHead(status).end(),
        () => outgoing.writeHead(502).end(),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/payments/webhook`,
    tally,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await agent.close();
    },
  };
}

describe(
  'money under a storm of payments, cancellations and refunds',
  { skip: testDb !== 'postgres' && 'several server processes need PostgreSQL and Redis' },
  () => {
    let schema: string;
    let db: Database;
    let standIn: StripeStandIn;
    let forwarder: Awaited<ReturnType<typeof startWebhookForwarder>>;
    let servers: ServerProcess[] = [];
    const call = httpCaller();
    const seed = seedFromEnv();

    before(async () => {
      schema = await createSchema();
      db = connectPostgres({ url: postgresUrl, poolMax: 4, searchPath: schema });
      forwarder = await startWebhookForwarder(() => servers.map((server) => server.url), seededRandom(seed ^ 0x5eed));
      standIn = await startStripeStandIn({ webhookSecret, webhookUrl: forwarder.url });
      const env = {
        DATABASE_URL: postgresUrlFor(schema),
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: `bxt:${schema}:`,
        AUTH_SECRET: testSecret,
        DATABASE_POOL_MAX: '10',
        PAYMENT_PROVIDER: 'stripe',
        STRIPE_SECRET_KEY: standIn.secretKey,
        STRIPE_WEBHOOK_SECRET: webhookSecret,
        STRIPE_API_BASE: standIn.url,
        PAYMENT_TIMEOUT_MS: '5000',
        PAYMENT_PENDING_GRACE_SECONDS: String(pendingGraceSeconds),
        PAYMENT_RECONCILE_AFTER_SECONDS: '1',
        REFUND_RETRY_BASE_MS: '100',
        REFUND_RETRY_MAX_MS: '1000',
        IDEMPOTENCY_IN_FLIGHT_STALE_MS: '1000',
        SWEEP_INTERVAL_MS: '200',
        // A pending payment keeps its hold until the later of its expiry and the grace: short, so
        // an abandoned 3-D Secure payment lapses (and is voided) within the test.
        HOLD_TTL_SECONDS: String(holdTtlSeconds),
      };
      // Three processes starting at once on 2 cores: more than the default 30 s to get ready.
      servers = await Promise.all([0, 1, 2].map(() => startServerProcess(env, serverReadyMs)));
    });
    after(async () => {
      await call.close();
      await Promise.all(servers.map((server) => server.stop()));
      await standIn?.close();
      await forwarder?.close();
      await db?.close();
      if (schema) {
        await dropSchema(schema);
        await deleteRedisKeys(redisUrl, `bxt:${schema}:`);
      }
    });

    test('when buyers pay, retry, cancel and get refunded across three processes while webhooks come twice, late and reordered, then every cent is accounted for', async () => {
      console.log(`money storm seed: ${seed} (replay with TEST_SEED=${seed})`);
      const startedMs = Date.now();
      const urls = servers.map((server) => server.url);
      const organizerToken = await signToken(organizer, 'organizer');
      const created = await call(
        urls[0]!,
        'POST',
        '/v1/events',
        organizerToken,
        eventBody({
          max_seats_per_user: 12,
          refund_policy: { buyer_cancel_until_hours: 48, fee_percent: feePercent },
          seat_map: {
            sections: [
              {
                name: 'A',
                price_tier: 'front',
                rows: Array.from({ length: 10 }, (_, i) => ({ label: `${i + 1}`, seats: 10 })),
              },
              {
                name: 'B',
                price_tier: 'back',
                rows: Array.from({ length: 5 }, (_, i) => ({ label: `${i + 1}`, seats: 20 })),
              },
            ],
          },
        }),
      );
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const eventId: string = created.body.event_id;
      const seatCount: number = created.body.seat_count;

      const acknowledged: Acknowledged = { holds: new Map(), pending: new Map(), bookings: new Map(), cancels: [] };
      const tally = new Map<string, number>();
      const problems: string[] = [];
      const count = (kind: string, answer: Answer) => {
        const label = `${kind} ${answer.status}${answer.body?.code ? ` ${answer.body.code}` : ''}`;
        tally.set(label, (tally.get(label) ?? 0) + 1);
        if (answer.status >= 500) problems.push(`${kind} answered ${answer.status}: ${JSON.stringify(answer.body)}`);
        return answer;
      };
      const expect = (kind: string, answer: Answer, statuses: number[]) => {
        if (!statuses.includes(answer.status)) {
          problems.push(`${kind}: expected ${statuses.join('/')}, got ${answer.status} ${JSON.stringify(answer.body)}`);
        }
      };

      // The provider's weather: deliveries held back and then sent in reverse, twice; refunds refused.
      let storming = true;
      let refundFailuresInjected = 0;
      const weather = (async () => {
        while (storming) {
          await sleep(1_000);
          standIn.pauseWebhooks();
          standIn.failRefunds(3);
          refundFailuresInjected += 3;
          await sleep(400);
          await standIn.flushWebhooks({ order: 'reversed', duplicate: true });
          await standIn.resumeWebhooks();
        }
      })();

      const buyer = async (index: number) => {
        const random = seededRandom(seed + index * 7_919);
        const user = `money-buyer-${index}`;
        const token = await signToken(user);
        const server = () => urls[random.int(urls.length)]!;
        const confirm = (base: string, reservationId: string, key: string, paymentMethod: string) =>
          call(
            base,
            'POST',
            `/v1/reservations/${reservationId}/confirm`,
            token,
            { payment_method: paymentMethod },
            { 'idempotency-key': key },
          );

        /** Retries the same key until it answers something other than in flight or pending. */
        const settleKey = async (kind: string, reservationId: string, key: string, paymentMethod: string) => {
          for (let tries = 0; tries < 150; tries += 1) {
            const answer = count(kind, await confirm(server(), reservationId, key, paymentMethod));
            const waiting =
              answer.status === 202 || (answer.status === 409 && answer.body?.code === 'IDEMPOTENCY_KEY_IN_FLIGHT');
            if (!waiting) return answer;
            await sleep(100);
          }
          problems.push(`${kind}: ${reservationId} under key ${key} still pending after 15 s`);
          return null;
        };

        const booked = (reservationId: string, answer: Answer | null): string | null => {
          if (answer?.status !== 201) return null;
          const bookingId: string = answer.body.booking_id;
          const seatNos = (answer.body.seats as { seat_id: string }[]).map((seat) => seatNoOf(seat.seat_id));
          acknowledged.bookings.set(bookingId, { reservationId, user, seatNos });
          return bookingId;
        };

        /** Pays for the hold one of several ways; the booking id when it booked. */
        const pay = async (reservationId: string, roundIndex: number): Promise<string | null> => {
          const key = (tab: string) => `${user}-${roundIndex}-${tab}`;
          const way = random.next();
          if (way < 0.35) {
            // A card that pays at once; sometimes the same request twice at once, on two processes.
            const twice = random.next() < 0.3;
            const first = await Promise.all(
              (twice ? [server(), server()] : [server()]).map(async (base) =>
                count('confirm', await confirm(base, reservationId, key('a'), 'pm_card_visa')),
              ),
            );
            for (const answer of first) expect('confirm', answer, [201, 409]);
            const answer =
              first.find((one) => one.status === 201) ??
              (await settleKey('confirm', reservationId, key('a'), 'pm_card_visa'));
            const bookingId = booked(reservationId, answer);
            if (!bookingId) problems.push(`confirm of a live hold did not book: ${JSON.stringify(answer?.body)}`);
            const replay = count('confirm replay', await confirm(server(), reservationId, key('a'), 'pm_card_visa'));
            if (replay.status !== 201 || replay.body.booking_id !== bookingId) {
              problems.push(
                `a replay answered ${replay.status} ${JSON.stringify(replay.body)}, not booking ${bookingId}`,
              );
            }
            if (random.next() < 0.15) {
              const reused = count(
                'confirm other body',
                await confirm(server(), reservationId, key('a'), 'pm_card_chargeDeclined'),
              );
              expect('confirm other body', reused, [422]);
            }
            return bookingId;
          }
          if (way < 0.7) {
            // 3-D Secure: the bank completes (yes or no), the buyer walks away, or cancels the hold meanwhile.
            const pending = count(
              'confirm 3ds',
              await confirm(server(), reservationId, key('s'), 'pm_card_threeDSecure2Required'),
            );
            expect('confirm 3ds', pending, [202]);
            if (pending.status !== 202) return null;
            const paymentId: string = pending.body.payment.payment_id;
            acknowledged.pending.set(paymentId, { reservationId });
            await sleep(20 + random.int(250)); // the buyer at their bank
            const ending = random.next();
            if (ending < 0.5) {
              standIn.complete(paymentId, 'succeeded');
              const answer = await settleKey(
                'confirm 3ds retry',
                reservationId,
                key('s'),
                'pm_card_threeDSecure2Required',
              );
              const bookingId = booked(reservationId, answer);
              if (!bookingId)
                problems.push(`a 3-D Secure payment that succeeded did not book: ${JSON.stringify(answer?.body)}`);
              return bookingId;
            }
            if (ending < 0.65) {
              standIn.complete(paymentId, 'failed');
              const answer = await settleKey(
                'confirm 3ds retry',
                reservationId,
                key('s'),
                'pm_card_threeDSecure2Required',
              );
              if (answer) expect('confirm 3ds retry (bank said no)', answer, [402]);
              return null;
            }
            if (ending < 0.9) {
              // Gives up on the hold while the bank is asking; often the bank says yes anyway, late
              // (before, while or after the sweeper voids the payment): a charge that bought nothing.
              const cancelled = count(
                'cancel hold (paying)',
                await call(server(), 'DELETE', `/v1/reservations/${reservationId}`, token),
              );
              expect('cancel hold (paying)', cancelled, [204]);
              if (random.next() < 0.7) {
                await sleep(random.int(1_500));
                standIn.complete(paymentId, 'succeeded');
              }
              return null;
            }
            return null; // abandoned: the hold lapses after the grace, the payment is voided
          }
          if (way < 0.82) {
            // Declined, then another card under another key.
            const declined = count(
              'confirm declined',
              await confirm(server(), reservationId, key('d'), 'pm_card_chargeDeclined'),
            );
            expect('confirm declined', declined, [402]);
            const answer = await settleKey('confirm after decline', reservationId, key('v'), 'pm_card_visa');
            const bookingId = booked(reservationId, answer);
            if (!bookingId) problems.push(`a confirm after a decline did not book: ${JSON.stringify(answer?.body)}`);
            return bookingId;
          }
          if (way < 0.92) {
            // Two tabs, two keys, one hold: one payment books.
            const answers = await Promise.all(
              ['t1', 't2'].map(async (tab) =>
                count('confirm two tabs', await confirm(server(), reservationId, key(tab), 'pm_card_visa')),
              ),
            );
            for (const answer of answers) expect('confirm two tabs', answer, [201, 409]);
            const wins = answers.filter((answer) => answer.status === 201);
            if (wins.length === 0) {
              // Each saw the other paying: the buyer tries again once.
              const again = await settleKey('confirm two tabs', reservationId, key('t1'), 'pm_card_visa');
              return again?.status === 201 ? booked(reservationId, again) : null;
            }
            if (new Set(wins.map((win) => win.body.booking_id)).size !== 1) {
              problems.push(`two tabs were answered two bookings: ${JSON.stringify(wins.map((win) => win.body))}`);
            }
            return booked(reservationId, wins[0]!);
          }
          if (way < 0.97) {
            count('cancel hold', await call(server(), 'DELETE', `/v1/reservations/${reservationId}`, token));
          }
          return null; // or kept: the hold stays until its TTL
        };

        /** After the sale: the buyer cancels some or all, the organizer refunds, or nothing. */
        const afterSale = async (bookingId: string) => {
          const seatNos = acknowledged.bookings.get(bookingId)!.seatNos;
          await sleep(random.int(200));
          const cancel = async (seats: number[] | null, copies: number) => {
            const body = seats ? { seat_ids: seats.map((seatNo) => `s${seatNo}`) } : {};
            const key = `${bookingId}-${seats?.join('.') ?? 'all'}`;
            const answers = await Promise.all(
              Array.from({ length: copies }, async () =>
                count(
                  seats ? 'buyer cancel (part)' : 'buyer cancel',
                  await call(server(), 'POST', `/v1/bookings/${bookingId}/cancel`, token, body, {
                    'idempotency-key': key,
                  }),
                ),
              ),
            );
            for (const answer of answers) {
              expect('buyer cancel', answer, [200]);
              if (answer.status === 200)
                acknowledged.cancels.push({ bookingId, seatNos: seats, by: 'buyer', status: answer.body.status });
            }
          };
          const refund = async (seats: number[] | null) => {
            const answer = count(
              seats ? 'organizer refund (part)' : 'organizer refund',
              await call(server(), 'POST', `/v1/bookings/${bookingId}/refund`, organizerToken, {
                ...(seats ? { seat_ids: seats.map((seatNo) => `s${seatNo}`) } : {}),
                reason: 'storm',
              }),
            );
            expect('organizer refund', answer, [200]);
            if (answer.status === 200)
              acknowledged.cancels.push({ bookingId, seatNos: seats, by: 'organizer', status: answer.body.status });
          };
          const part = seatNos.length > 1 ? [random.pick(seatNos)] : null;
          const what = random.next();
          if (what < 0.3) return;
          if (what < 0.5) await cancel(null, random.next() < 0.3 ? 2 : 1);
          else if (what < 0.7) await cancel(part, random.next() < 0.3 ? 2 : 1);
          else if (what < 0.85) await refund(random.next() < 0.5 ? part : null);
          else {
            await cancel(part, 1);
            await refund(null);
          }
        };

        for (let roundIndex = 0; roundIndex < roundsPerBuyer && Date.now() - startedMs < stormMs; roundIndex += 1) {
          const seats = new Set<number>();
          const want = 1 + random.int(3);
          while (seats.size < want) seats.add(random.int(seatCount));
          const seatNos = [...seats];
          const held = count(
            'hold',
            await call(server(), 'POST', `/v1/events/${eventId}/reservations`, token, {
              seat_ids: seatNos.map((seatNo) => `s${seatNo}`),
            }),
          );
          if (held.status !== 201) continue;
          const reservationId: string = held.body.reservation_id;
          acknowledged.holds.set(reservationId, { user, seatNos });
          const bookingId = await pay(reservationId, roundIndex);
          if (bookingId) await afterSale(bookingId);
        }
      };

      await Promise.all(Array.from({ length: buyersCount }, (_, index) => buyer(index)));
      storming = false;
      await weather;
      const stormEndedMs = Date.now();
      console.log(
        `money storm: ${acknowledged.holds.size} holds, ${acknowledged.bookings.size} bookings in ` +
          `${((stormEndedMs - startedMs) / 1000).toFixed(1)} s; problems: ${problems.length}`,
      );

      // Let the sweepers settle: nothing open in the ledger, nothing left at the provider.
      const pendingNow = async () => {
        const { rows } = await db.query<{ payments: number; refunds: number; unsettled: number; lapsed: number }>(
          `SELECT (SELECT count(*)::int FROM payments WHERE status IN ('started', 'requires_action', 'processing')) AS payments,
                  (SELECT count(*)::int FROM refunds WHERE status <> 'succeeded') AS refunds,
                  (SELECT count(*)::int FROM reservations WHERE payment_started AND NOT refunds_settled
                     AND (status IN ('cancelled', 'expired') OR (status = 'confirmed' AND payment_attempt > 0))) AS unsettled,
                  (SELECT count(*)::int FROM reservations WHERE status = 'active' AND expires_at <= now()) AS lapsed`,
        );
        const open = standIn
          .charges()
          .filter((charge) => charge.status === 'requires_action' || charge.status === 'processing');
        return { ...rows[0]!, openAtProvider: open.length, heldWebhooks: standIn.pendingWebhooks().length };
      };
      let pending = await pendingNow();
      while (Object.values(pending).some((n) => n > 0) && Date.now() - stormEndedMs < settleMs) {
        if (pending.heldWebhooks > 0) await standIn.flushWebhooks();
        await sleep(250);
        pending = await pendingNow();
      }
      await standIn.webhooksSettled();
      const settledMs = Date.now();
      assert.deepEqual(
        pending,
        { payments: 0, refunds: 0, unsettled: 0, lapsed: 0, openAtProvider: 0, heldWebhooks: 0 },
        'everything settled',
      );
      assert.deepEqual(problems, [], 'the answers');

      // 1. Every booking: charged = the seats it keeps + refunded + fees kept; each refund is its seats' value.
      const { rows: bookings } = await db.query<{
        id: string;
        total_cents: string;
        charged: string | null;
        payment_status: string | null;
        payment_refunded: string | null;
        kept_value: string;
        refunded: string;
        fees: string;
        refunded_seats_value: string;
      }>(
        `SELECT b.id, b.total_cents, p.amount_cents AS charged, p.status AS payment_status, p.refunded_cents AS payment_refunded,
           (SELECT coalesce(sum(s.price_cents), 0) FROM seats s WHERE s.event_id = b.event_id AND s.seat_no = ANY(b.seat_nos)) AS kept_value,
           (SELECT coalesce(sum(f.amount_cents), 0) FROM refunds f WHERE f.booking_id = b.id) AS refunded,
           (SELECT coalesce(sum(f.fee_cents), 0) FROM refunds f WHERE f.booking_id = b.id) AS fees,
           (SELECT coalesce(sum(s.price_cents), 0) FROM refunded_seats rs
              JOIN seats s ON s.event_id = b.event_id AND s.seat_no = rs.seat_no WHERE rs.booking_id = b.id) AS refunded_seats_value
         FROM bookings b LEFT JOIN payments p ON p.charge_id = b.charge_id
         WHERE b.event_id = $1`,
        [eventId],
      );
      const money: string[] = [];
      for (const b of bookings) {
        const [total, charged, kept, refunded, fees] = [b.total_cents, b.charged, b.kept_value, b.refunded, b.fees].map(
          Number,
        );
        if (b.payment_status !== 'succeeded' || charged !== total)
          money.push(`booking ${b.id}: charge ${b.charged} ${b.payment_status}, total ${total}`);
        if (total !== kept! + refunded! + fees!)
          money.push(`booking ${b.id}: ${total} ≠ kept ${kept} + refunded ${refunded} + fees ${fees}`);
        if (Number(b.refunded_seats_value) !== refunded! + fees!)
          money.push(`booking ${b.id}: refunded seats worth ${b.refunded_seats_value} ≠ ${refunded! + fees!}`);
        if (Number(b.payment_refunded) !== refunded)
          money.push(`booking ${b.id}: its charge shows ${b.payment_refunded} refunded, its refunds ${refunded}`);
      }
      const { rows: refundsByBooking } = await db.query<{
        id: string;
        reason: string;
        amount_cents: string;
        fee_cents: string;
        value: string;
      }>(
        `SELECT f.id, f.reason, f.amount_cents, f.fee_cents,
           (SELECT sum(s.price_cents) FROM seats s WHERE s.event_id = $1 AND s.seat_no = ANY(f.seat_nos)) AS value
         FROM refunds f JOIN bookings b ON b.id = f.booking_id WHERE b.event_id = $1`,
        [eventId],
      );
      for (const f of refundsByBooking) {
        const value = Number(f.value);
        const fee = f.reason === 'buyer_cancelled' ? Math.round((value * feePercent) / 100) : 0;
        if (Number(f.fee_cents) !== fee || Number(f.amount_cents) !== value - fee) {
          money.push(`refund ${f.id} (${f.reason}): ${f.amount_cents} + fee ${f.fee_cents} for seats worth ${value}`);
        }
      }

      // 2. No seat both refunded and still booked by the same booking.
      const { rows: both } = await db.query<{ booking_id: string; seat_no: number }>(
        `SELECT rs.booking_id, rs.seat_no FROM refunded_seats rs JOIN bookings b ON b.id = rs.booking_id
         WHERE rs.seat_no = ANY(b.seat_nos)
            OR EXISTS (SELECT 1 FROM booked_seats bs WHERE bs.booking_id = rs.booking_id AND bs.seat_no = rs.seat_no)`,
      );
      for (const row of both)
        money.push(`seat ${row.seat_no} of booking ${row.booking_id} is refunded and still booked`);

      // 3. The ledger and the provider agree, charge by charge; nothing refunded twice or beyond the charge;
      //    every charge that bought nothing is refunded in full or was never made.
      const { rows: payments } = await db.query<{
        reservation_id: string;
        attempt: number;
        charge_id: string | null;
        status: string;
        amount_cents: string;
        refunded_cents: string;
        booked: boolean;
        refund_ids: (string | null)[];
        refunds_succeeded: string;
      }>(
        `SELECT p.reservation_id, p.attempt, p.charge_id, p.status, p.amount_cents, p.refunded_cents,
           EXISTS (SELECT 1 FROM bookings b WHERE b.charge_id = p.charge_id) AS booked,
           coalesce((SELECT array_agg(f.provider_refund_id) FROM refunds f WHERE f.payment_id = p.id), '{}') AS refund_ids,
           (SELECT coalesce(sum(f.amount_cents), 0) FROM refunds f WHERE f.payment_id = p.id AND f.status = 'succeeded') AS refunds_succeeded
         FROM payments p`,
      );
      const ledgerOf = new Map(payments.map((p) => [`${p.reservation_id}/${p.attempt}`, p]));
      const providerRefunds = standIn.refunds();
      const charges = standIn.charges();
      let chargesThatBooked = 0;
      let chargesRefundedWhole = 0;
      let chargesNeverMade = 0;
      for (const charge of charges) {
        const ledger = ledgerOf.get(`${charge.metadata.reservation_id}/${charge.metadata.attempt}`);
        const made = providerRefunds.filter(
          (refund) => refund.payment_intent === charge.id && refund.status !== 'failed',
        );
        const madeCents = made.reduce((sum, refund) => sum + refund.amount, 0);
        if (madeCents !== charge.amount_refunded || madeCents > charge.amount_received) {
          money.push(`charge ${charge.id}: refunds ${madeCents} of ${charge.amount_received} received`);
        }
        if (!ledger) {
          money.push(`charge ${charge.id} (${charge.status}) is not in the ledger`);
          continue;
        }
        if (charge.status === 'succeeded') {
          if (ledger.charge_id !== charge.id || ledger.status !== 'succeeded') {
            money.push(`charge ${charge.id} succeeded, the ledger says ${ledger.charge_id} ${ledger.status}`);
          }
          if (Number(ledger.refunds_succeeded) !== madeCents || Number(ledger.refunded_cents) !== madeCents) {
            money.push(
              `charge ${charge.id}: refunded ${madeCents} at the provider, ${ledger.refunds_succeeded} in the ledger`,
            );
          }
          const ledgerIds = ledger.refund_ids.filter((id) => id !== null).sort();
          const providerIds = made.map((refund) => refund.id).sort();
          if (ledgerIds.join() !== providerIds.join() || ledger.refund_ids.length !== made.length) {
            money.push(
              `charge ${charge.id}: the provider's refunds ${providerIds} ≠ the ledger's ${ledger.refund_ids}`,
            );
          }
          if (ledger.booked) chargesThatBooked += 1;
          else if (charge.amount_refunded === charge.amount_received) chargesRefundedWhole += 1;
          else
            money.push(
              `charge ${charge.id} bought nothing and is refunded ${charge.amount_refunded} of ${charge.amount_received}`,
            );
        } else {
          // Declined (requires_payment_method) or cancelled: nothing was taken.
          if (charge.amount_received !== 0 || !['requires_payment_method', 'canceled'].includes(charge.status)) {
            money.push(`charge ${charge.id} ended ${charge.status} with ${charge.amount_received} received`);
          }
          if (ledger.booked || ledger.status === 'succeeded')
            money.push(`charge ${charge.id} is ${charge.status}, the ledger's ${ledger.status}`);
          chargesNeverMade += 1;
        }
      }
      const stray = providerRefunds.filter((refund) => !charges.some((charge) => charge.id === refund.payment_intent));
      if (stray.length > 0) money.push(`${stray.length} refunds of charges the provider does not know`);
      if (chargesThatBooked !== bookings.length)
        money.push(`${chargesThatBooked} charges booked, ${bookings.length} bookings`);
      assert.deepEqual(money, [], 'money');
      assert.deepEqual(await moneyProblems(db, { provider: standIn, settled: true }), [], 'the money invariant');

      // 4. Every 2xx the clients got is in PostgreSQL.
      const stored = async <Row extends object>(sql: string) => (await db.query<Row>(sql, [eventId])).rows;
      const reservations = new Map(
        (
          await stored<{ id: string; user_id: string; seat_nos: number[] }>(
            'SELECT id, user_id, seat_nos FROM reservations WHERE event_id = $1',
          )
        ).map((row) => [row.id, row]),
      );
      const bookingRows = new Map(
        (
          await stored<{ id: string; reservation_id: string; seat_nos: number[]; status: string }>(
            'SELECT id, reservation_id, seat_nos, status FROM bookings WHERE event_id = $1',
          )
        ).map((row) => [row.id, row]),
      );
      const refundedSeats = new Map<string, Set<number>>();
      for (const row of await stored<{ booking_id: string; seat_no: number }>(
        'SELECT rs.booking_id, rs.seat_no FROM refunded_seats rs JOIN bookings b ON b.id = rs.booking_id WHERE b.event_id = $1',
      )) {
        refundedSeats.set(row.booking_id, (refundedSeats.get(row.booking_id) ?? new Set()).add(row.seat_no));
      }
      const sorted = (seatNos: Iterable<number>) => [...seatNos].sort((a, b) => a - b).join();
      const lost: string[] = [];
      for (const [id, hold] of acknowledged.holds) {
        const row = reservations.get(id);
        if (!row || row.user_id !== hold.user) lost.push(`hold ${id}`);
      }
      for (const [paymentId, { reservationId }] of acknowledged.pending) {
        if (!payments.some((p) => p.charge_id === paymentId && p.reservation_id === reservationId))
          lost.push(`202 payment ${paymentId}`);
      }
      for (const [id, booking] of acknowledged.bookings) {
        const row = bookingRows.get(id);
        const refunded = refundedSeats.get(id) ?? new Set();
        if (!row || row.reservation_id !== booking.reservationId) lost.push(`booking ${id}`);
        else if (
          sorted([...row.seat_nos, ...refunded]) !== sorted(acknowledged.holds.get(booking.reservationId)!.seatNos)
        ) {
          lost.push(`booking ${id}: seats ${row.seat_nos} + refunded ${[...refunded]}`);
        }
      }
      for (const cancel of acknowledged.cancels) {
        const row = bookingRows.get(cancel.bookingId)!;
        const refunded = refundedSeats.get(cancel.bookingId) ?? new Set();
        const named = cancel.seatNos ?? acknowledged.bookings.get(cancel.bookingId)!.seatNos;
        if (named.some((seatNo) => !refunded.has(seatNo) || row.seat_nos.includes(seatNo))) {
          lost.push(
            `${cancel.by} cancel of ${cancel.bookingId} (${cancel.seatNos ?? 'all'}) answered ${cancel.status}`,
          );
        }
        if (cancel.seatNos === null && (row.status !== 'cancelled' || cancel.status !== 'cancelled')) {
          lost.push(`booking ${cancel.bookingId} cancelled whole is ${row.status}`);
        }
      }
      assert.deepEqual(lost, [], 'every 2xx answer is in PostgreSQL');
      assert.deepEqual(await checkInvariants(db), []);

      const refundRows = await stored<{ reason: string; n: number }>(
        `SELECT f.reason, count(*)::int AS n FROM refunds f JOIN payments p ON p.id = f.payment_id
         JOIN reservations r ON r.id = p.reservation_id WHERE r.event_id = $1 GROUP BY f.reason ORDER BY f.reason`,
      );
      const refundAttempts = standIn.requests.filter((made) => made.path === '/v1/refunds' && made.method === 'POST');
      console.log(
        `money storm: ${buyersCount} buyers, ${acknowledged.holds.size} holds, ${acknowledged.bookings.size} bookings ` +
          `(${[...bookingRows.values()].filter((b) => b.status !== 'confirmed').length} cancelled in part or whole), ` +
          `${acknowledged.cancels.length} cancel/refund answers; storm ${((stormEndedMs - startedMs) / 1000).toFixed(1)} s, ` +
          `settled ${((settledMs - stormEndedMs) / 1000).toFixed(1)} s later`,
      );
      console.log('requests:', Object.fromEntries([...tally].sort()));
      console.log(
        `provider: ${charges.length} payments (${chargesThatBooked} booked, ${chargesRefundedWhole} refunded whole, ` +
          `${chargesNeverMade} never taken), ${providerRefunds.length} refunds; refund requests ${refundAttempts.length} ` +
          `(${refundAttempts.filter((made) => made.status >= 500).length} refused, ${refundFailuresInjected} failures injected)`,
      );
      console.log('ledger refunds by reason:', Object.fromEntries(refundRows.map((row) => [row.reason, row.n])));
      console.log(
        `webhooks: ${standIn.webhookDeliveries.length} deliveries, ${forwarder.tally.concurrentCopies} sent to two processes at once;`,
        Object.fromEntries(forwarder.tally.results),
      );
    });
  },
);
