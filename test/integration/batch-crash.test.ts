// A server SIGKILLed while PostgreSQL runs one of its write batches (many holds, or many
// confirmations, in one statement): every 201 it sent is in PostgreSQL, nothing it did not
// acknowledge is half-written (a batch commits whole or not at all), and the buyers whose
// confirmations were cut off finish them on a new server with the same keys, booked once.
// Half the buyers name their seats, half ask for the best available (chosen in Redis Lua).
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectPostgres, type Database } from '../../src/adapters/postgres/database.ts';
import {
  checkInvariants,
  createSchema,
  deleteRedisKeys,
  dropSchema,
  postgresUrl,
  postgresUrlFor,
  redisUrl,
  signToken,
  testDb,
  testSecret,
} from '../support/harness.ts';
import { startServerProcess, type ServerProcess } from '../support/processes.ts';
import { seedFromEnv, seededRandom } from '../support/random.ts';
import { createStormEvent, httpCaller } from '../support/storm.ts';

const staleMs = 1_000;
const batchStatements = ['hold_seats_batch', 'begin_confirmations', 'confirm_reservations'] as const;

interface Acknowledged {
  holds: Map<string, { user: string; seatIds: string[] }>;
  bookings: Map<string, { reservationId: string; bookingId: string }>;
  /** Confirmations sent and never answered: reservation → the user and key. */
  cutOff: Map<string, { user: string; key: string }>;
}

describe(
  'a server killed in the middle of a write batch',
  { skip: testDb !== 'postgres' && 'needs PostgreSQL' },
  () => {
    let schema: string;
    let db: Database;
    let watcher: Database;
    const call = httpCaller();
    const servers: ServerProcess[] = [];

    before(async () => {
      schema = await createSchema();
      db = connectPostgres({ url: postgresUrl, poolMax: 4, searchPath: schema });
      watcher = connectPostgres({ url: postgresUrl, poolMax: 1 });
    });
    after(async () => {
      await call.close();
      await Promise.all(servers.map((server) => server.stop()));
      await db?.close();
      await watcher?.close();
      if (schema) {
        await dropSchema(schema);
        await deleteRedisKeys(redisUrl, `bxt:${schema}:`);
      }
    });

    const applicationName = (round: number) => `batch-crash-${schema}-${round}`;

    const startServer = async (round: number) => {
      const server = await startServerProcess({
        DATABASE_URL: `${postgresUrlFor(schema)}&application_name=${applicationName(round)}`,
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: `bxt:${schema}:`,
        AUTH_SECRET: testSecret,
        IDEMPOTENCY_IN_FLIGHT_STALE_MS: String(staleMs),
        // Wide batches: most of the time one is being gathered or written.
        WRITE_BATCH_WINDOW_MS: '15',
        WRITE_BATCH_MAX: '64',
      });
      servers.push(server);
      return server;
    };

    /** Whether PostgreSQL is running this batch statement for this round's server now. */
    const running = async (round: number, statement: string): Promise<boolean> => {
      const { rows } = await watcher.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
       WHERE application_name = $1 AND state = 'active' AND query LIKE $2`,
        [applicationName(round), `%${statement}(%`],
      );
      return rows[0]!.n > 0;
    };

    /** Until the killed server's backends are gone (their open transactions rolled back). */
    const backendsGone = async (round: number) => {
      for (let i = 0; i < 200; i += 1) {
        const { rows } = await watcher.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1',
          [applicationName(round)],
        );
        if (rows[0]!.n === 0) return;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      assert.fail('the killed server still has backends in PostgreSQL after 5 s');
    };

    /**
     * Buyers that hold 1–2 seats and confirm, until the server stops answering: every other
     * buyer names seats (from a shared shuffled order), the others ask for the best available.
     */
    const buy = async (server: ServerProcess, eventId: string, seats: number, round: number, seed: number) => {
      const random = seededRandom(seed);
      const acknowledged: Acknowledged = { holds: new Map(), bookings: new Map(), cutOff: new Map() };
      const order = random.shuffle(Array.from({ length: seats }, (_, seatNo) => seatNo));
      let next = 0;
      const buyers = Array.from({ length: 120 }, async (_, index) => {
        const user = `crash-${round}-${index}`;
        const token = await signToken(user);
        for (let turn = 0; next < order.length; turn += 1) {
          const count = Math.min(1 + random.int(2), order.length - next);
          const named = order.slice(next, next + count).map((seatNo) => `s${seatNo}`);
          next += count;
          const best = index % 2 === 1;
          let held;
          try {
            held = await call(
              server.url,
              'POST',
              `/v1/events/${eventId}/reservations`,
              token,
              best ? { best_available: { count } } : { seat_ids: named },
            );
          } catch {
            return; // the server is gone
          }
          if (held.status !== 201) continue; // taken, or over the per-user cap: the next turn tries again
          const reservationId: string = held.body.reservation_id;
          const seatIds = (held.body.seats as { seat_id: string }[]).map((seat) => seat.seat_id);
          if (!best) assert.deepEqual(seatIds.sort(), [...named].sort());
          acknowledged.holds.set(reservationId, { user, seatIds });
          const key = `crash-${round}-${index}-${turn}`;
          acknowledged.cutOff.set(reservationId, { user, key });
          let confirmed;
          try {
            confirmed = await call(
              server.url,
              'POST',
              `/v1/reservations/${reservationId}/confirm`,
              token,
              { payment_method: 'pm_card_visa' },
              { 'idempotency-key': key },
            );
          } catch {
            return;
          }
          acknowledged.cutOff.delete(reservationId);
          assert.equal(confirmed.status, 201, JSON.stringify(confirmed.body));
          acknowledged.bookings.set(reservationId, { reservationId, bookingId: confirmed.body.booking_id });
        }
      });
      return { acknowledged, done: Promise.all(buyers) };
    };

    test('when a server is SIGKILLed while a batch statement runs, then every 201 it sent is in PostgreSQL and nothing it did not acknowledge is half-written', async () => {
      const seed = seedFromEnv();
      const killedDuring: string[] = [];
      // Each round's successor (which finishes the cut-off confirmations) is the next round's server.
      let server = await startServer(0);
      for (let round = 0; round < batchStatements.length; round += 1) {
        const eventId = await createStormEvent(call, server.url, 40, 50);
        const { acknowledged, done } = await buy(server, eventId, 2_000, round, seed + round);
        // Once buyers have booked, kill the moment PostgreSQL is seen running this round's
        // kind of batch: holds, the confirmations' begin step, then their booking step.
        const statement = batchStatements[round]!;
        const deadline = Date.now() + 20_000;
        while (acknowledged.bookings.size < 20 && Date.now() < deadline)
          await new Promise((resolve) => setTimeout(resolve, 5));
        let seen = false;
        while (!seen && Date.now() < deadline) seen = await running(round, statement);
        assert.ok(seen, `${statement} was seen running`);
        server.child.kill('SIGKILL');
        killedDuring.push(statement);
        await done;
        await backendsGone(round);

        assert.deepEqual(await checkInvariants(db, Date.now()), [], `round ${round}: nothing half-written`);
        const { rows: reservations } = await db.query<{ id: string; user_id: string; seat_nos: number[] }>(
          'SELECT id, user_id, seat_nos FROM reservations WHERE event_id = $1',
          [eventId],
        );
        const stored = new Map(reservations.map((row) => [row.id, row]));
        for (const [id, hold] of acknowledged.holds) {
          const row = stored.get(id);
          assert.ok(row, `round ${round}: the acknowledged hold ${id} is in PostgreSQL`);
          assert.equal(row.user_id, hold.user);
          assert.deepEqual(
            [...row.seat_nos].sort((a, b) => a - b),
            hold.seatIds.map((seatId) => Number(seatId.slice(1))).sort((a, b) => a - b),
          );
        }
        const bookingOf = async (reservationId: string) =>
          (
            await db.query<{ id: string }>('SELECT id FROM bookings WHERE reservation_id = $1', [reservationId])
          ).rows.map((row) => row.id);
        for (const [reservationId, booking] of acknowledged.bookings) {
          assert.deepEqual(await bookingOf(reservationId), [booking.bookingId], `round ${round}: acknowledged booking`);
        }
        assert.ok(acknowledged.bookings.size >= 20, `round ${round}: confirmations were answered before the kill`);

        // The buyers cut off retry with the same keys on a new server, once the claims are stale.
        await new Promise((resolve) => setTimeout(resolve, staleMs + 100));
        const successor = await startServer(round + 1);
        await Promise.all(
          [...acknowledged.cutOff].map(async ([reservationId, { user, key }]) => {
            const retried = await call(
              successor.url,
              'POST',
              `/v1/reservations/${reservationId}/confirm`,
              await signToken(user),
              { payment_method: 'pm_card_visa' },
              { 'idempotency-key': key },
            );
            assert.equal(retried.status, 201, `a cut-off confirmation finishes: ${JSON.stringify(retried.body)}`);
            assert.deepEqual(await bookingOf(reservationId), [retried.body.booking_id], 'booked once');
          }),
        );
        assert.deepEqual(await checkInvariants(db, Date.now()), [], `round ${round}: still whole after the retries`);
        server = successor;
      }
      await server.stop();
      assert.deepEqual(killedDuring, [...batchStatements]);
    });
  },
);
