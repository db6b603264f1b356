// 240 buyers race overlapping multi-seat holds (seat ids in random order), confirms and
// cancels through real HTTP; on PostgreSQL across three server processes. Afterwards the
// database must show: no seat in two live holds or bookings, no partial hold, every 201
// recorded as answered, and no 5xx along the way.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Agent, request } from 'undici';
import { connectPostgres, type Database } from '../../src/adapters/postgres/database.ts';
import {
  checkInvariants,
  createSchema,
  dropSchema,
  eventBody,
  postgresUrl,
  postgresUrlFor,
  signToken,
  startTestApp,
  testDb,
  testSecret,
  type TestApp,
} from '../support/harness.ts';
import { startServerProcess, type ServerProcess } from '../support/processes.ts';
import { seedFromEnv, seededRandom } from '../support/random.ts';

const buyers = 240;
const roundsPerBuyer = 3;
const seatsInEvent = 60;

describe(`concurrent buyers on ${testDb}`, () => {
  let urls: string[] = [];
  let db: Database;
  let servers: ServerProcess[] = [];
  let inProcess: TestApp | undefined;
  let schema: string | undefined;
  const agent = new Agent({ connections: 512, keepAliveTimeout: 10_000 });

  before(async () => {
    if (testDb === 'postgres') {
      schema = await createSchema();
      const env = { DATABASE_URL: postgresUrlFor(schema), AUTH_SECRET: testSecret, DATABASE_POOL_MAX: '20' };
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
    await agent.close();
    await Promise.all(servers.map((server) => server.stop()));
    if (inProcess) await inProcess.close();
    else await db.close();
    if (schema) await dropSchema(schema);
  });

  const call = async (
    base: string,
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    token?: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const response = await request(`${base}${path}`, {
      method,
      dispatcher: agent,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.body.text();
    return { status: response.statusCode, body: text ? JSON.parse(text) : null };
  };

  test('when 240 buyers race for 60 seats, then no seat is sold twice and every 201 is recorded', async () => {
    const seed = seedFromEnv();
    console.log(`concurrency seed: ${seed} (replay with TEST_SEED=${seed})`);
    const random = seededRandom(seed);
    const organizer = await signToken('organizer-race', 'organizer');
    const created = await call(
      urls[0]!,
      'POST',
      '/v1/events',
      organizer,
      eventBody({
        seat_map: {
          sections: [
            {
              name: 'A',
              price_tier: 'front',
              rows: Array.from({ length: 6 }, (_, i) => ({ label: String(i + 1), seats: 10 })),
            },
          ],
        },
      }),
    );
    assert.equal(created.status, 201);
    const eventId: string = created.body.event_id;
    assert.equal(created.body.seat_count, seatsInEvent);

    const tokens = await Promise.all(Array.from({ length: buyers }, (_, index) => signToken(`buyer-${index}`)));
    // Each buyer's plan is drawn up front so the run is fully determined by the seed.
    const plans = tokens.map((token, index) => ({
      token,
      base: urls[index % urls.length]!,
      rounds: Array.from({ length: roundsPerBuyer }, () => {
        const count = 1 + random.int(4);
        const seats = new Set<number>();
        while (seats.size < count) seats.add(random.int(seatsInEvent));
        return {
          seatIds: random.shuffle([...seats].map((seatNo) => `s${seatNo}`)),
          then: random.pick(['confirm', 'cancel', 'keep'] as const),
        };
      }),
    }));

    const statuses = new Map<number, number>();
    const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
    const expected = new Map<
      string,
      { userIndex: number; seatIds: string[]; status: 'active' | 'confirmed' | 'cancelled' }
    >();
    const problems: string[] = [];

    await Promise.all(
      plans.map(async (plan, userIndex) => {
        for (const [roundIndex, round] of plan.rounds.entries()) {
          const held = await call(plan.base, 'POST', `/v1/events/${eventId}/reservations`, plan.token, {
            seat_ids: round.seatIds,
          });
          count(held.status);
          if (held.status === 409 && held.body.code === 'SEAT_UNAVAILABLE') {
            const conflicting: string[] = held.body.conflicting_seat_ids;
            if (conflicting.length === 0 || conflicting.some((seatId) => !round.seatIds.includes(seatId))) {
              problems.push(`409 names seats not asked for: ${JSON.stringify(held.body)}`);
            }
          }
          if (held.status !== 201) continue;
          const id: string = held.body.reservation_id;
          expected.set(id, { userIndex, seatIds: round.seatIds, status: 'active' });
          if (round.then === 'confirm') {
            const confirmed = await call(
              plan.base,
              'POST',
              `/v1/reservations/${id}/confirm`,
              plan.token,
              { payment_method: 'pm_card_visa' },
              { 'idempotency-key': `race-${userIndex}-${roundIndex}` },
            );
            count(confirmed.status);
            if (confirmed.status === 201) expected.get(id)!.status = 'confirmed';
            else
              problems.push(`confirm of a live hold answered ${confirmed.status}: ${JSON.stringify(confirmed.body)}`);
          } else if (round.then === 'cancel') {
            const cancelled = await call(plan.base, 'DELETE', `/v1/reservations/${id}`, plan.token);
            count(cancelled.status);
            if (cancelled.status === 204) expected.get(id)!.status = 'cancelled';
            else problems.push(`cancel answered ${cancelled.status}`);
          }
        }
      }),
    );

    console.log('statuses:', Object.fromEntries(statuses));
    const serverErrors = [...statuses].filter(([status]) => status >= 500);
    assert.deepEqual(serverErrors, [], 'no 5xx under contention');
    assert.deepEqual(problems, []);
    assert.ok((statuses.get(201) ?? 0) > 0, 'some holds won');
    assert.ok((statuses.get(409) ?? 0) > 0, 'some holds lost: the race was real');

    // Every acknowledged hold is in the database, with its seats and the state we left it in.
    const { rows } = await db.query<{ id: string; user_id: string; status: string; seat_nos: number[] }>(
      `SELECT id, user_id, status, seat_nos FROM reservations WHERE event_id = $1`,
      [eventId],
    );
    const stored = new Map(rows.map((row) => [row.id, row]));
    assert.equal(rows.length, expected.size, 'exactly the acknowledged reservations exist');
    for (const [id, want] of expected) {
      const row = stored.get(id);
      assert.ok(row, `reservation ${id} answered 201 but is missing`);
      assert.equal(row.user_id, `buyer-${want.userIndex}`);
      assert.equal(row.status, want.status, `reservation ${id}`);
      assert.deepEqual(
        [...row.seat_nos].sort((a, b) => a - b),
        want.seatIds.map((id) => Number(id.slice(1))).sort((a, b) => a - b),
      );
    }
    assert.deepEqual(await checkInvariants(db), []);

    // The seat map agrees with the database: held + booked seats are exactly those of
    // live reservations and bookings.
    const map = await call(urls[0]!, 'GET', `/v1/events/${eventId}/seats`);
    const taken = new Set<string>();
    for (const want of expected.values())
      if (want.status !== 'cancelled') want.seatIds.forEach((seatId) => taken.add(seatId));
    for (const seat of map.body.seats as { seat_id: string; status: string }[]) {
      assert.equal(seat.status !== 'available', taken.has(seat.seat_id), `seat ${seat.seat_id} is ${seat.status}`);
    }
  });
});
