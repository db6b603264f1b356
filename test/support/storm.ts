// The concurrency storm: buyers race overlapping 1–4-seat holds (seat ids in random
// order), confirms and cancels over real HTTP against one or more servers; then the
// database (and every server's seat map) must agree with what was acknowledged.
// Used by the concurrency test, the Redis chaos test and the Redis Cluster test.
import assert from 'node:assert/strict';
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
  startTestApp,
  testDb,
  testSecret,
  type TestApp,
} from './harness.ts';
import { startServerProcess, type ServerProcess } from './processes.ts';
import { seededRandom } from './random.ts';

export interface StormServers {
  urls: string[];
  /** The database the servers write, to check afterwards. */
  db: Database;
  close(): Promise<void>;
}

/**
 * The servers a storm races: on PostgreSQL three server processes sharing one Redis (the
 * hot path), in a schema of their own; on PGlite, one process's embedded database, one
 * server, still real sockets.
 */
export async function startStormServers(): Promise<StormServers> {
  if (testDb !== 'postgres') {
    const inProcess: TestApp = await startTestApp();
    const url = await inProcess.app.listen({ port: 0, host: '127.0.0.1' });
    return { urls: [url], db: inProcess.runtime.db, close: () => inProcess.close() };
  }
  const schema = await createSchema();
  const env = {
    DATABASE_URL: postgresUrlFor(schema),
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `bxt:${schema}:`,
    AUTH_SECRET: testSecret,
    DATABASE_POOL_MAX: '20',
  };
  const servers: ServerProcess[] = await Promise.all([0, 1, 2].map(() => startServerProcess(env)));
  const db = connectPostgres({ url: postgresUrl, poolMax: 4, searchPath: schema });
  return {
    urls: servers.map((server) => server.url),
    db,
    async close() {
      await Promise.all(servers.map((server) => server.stop()));
      await db.close();
      await dropSchema(schema);
      await deleteRedisKeys(redisUrl, `bxt:${schema}:`);
    },
  };
}

export interface Caller {
  (
    base: string,
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    token?: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export function httpCaller(): Caller {
  const agent = new Agent({ connections: 512, keepAliveTimeout: 10_000 });
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
  return Object.assign(call, { close: () => agent.close() });
}

export async function createStormEvent(call: Caller, base: string, rows: number, seatsPerRow: number): Promise<string> {
  const organizer = await signToken('organizer-race', 'organizer');
  const created = await call(
    base,
    'POST',
    '/v1/events',
    organizer,
    eventBody({
      seat_map: {
        sections: [
          {
            name: 'A',
            price_tier: 'front',
            rows: Array.from({ length: rows }, (_, i) => ({ label: String(i + 1), seats: seatsPerRow })),
          },
        ],
      },
    }),
  );
  assert.equal(created.status, 201);
  assert.equal(created.body.seat_count, rows * seatsPerRow);
  return created.body.event_id;
}

export interface StormOptions {
  call: Caller;
  urls: string[];
  eventId: string;
  seatsInEvent: number;
  buyers: number;
  rounds: number;
  seed: number;
  /** Called (not awaited by the buyers) once this many holds have been answered. */
  midway?: { afterHolds: number; run: () => Promise<void> };
  /** Rounds that ask for the best available instead of naming seats: their share (0–1) and the request. */
  bestAvailable?: { share: number; draw: (random: ReturnType<typeof seededRandom>) => Record<string, unknown> };
  /** Seats off sale in organizer blocks when the storm is checked (they show blocked, not available). */
  blockedSeatIds?: () => Set<string>;
}

export interface StormResult {
  statuses: Map<number, number>;
  expected: Map<
    string,
    {
      userIndex: number;
      seatIds: string[];
      status: 'active' | 'confirmed' | 'cancelled';
      /** The best-available request the server chose these seats for. */
      best?: Record<string, unknown>;
    }
  >;
  problems: string[];
}

export async function runStorm(options: StormOptions): Promise<StormResult> {
  const { call, urls, eventId } = options;
  const random = seededRandom(options.seed);
  const tokens = await Promise.all(Array.from({ length: options.buyers }, (_, index) => signToken(`buyer-${index}`)));
  // Each buyer's plan is drawn up front so the run is fully determined by the seed.
  const plans = tokens.map((token, index) => ({
    token,
    base: urls[index % urls.length]!,
    rounds: Array.from({ length: options.rounds }, () => {
      const count = 1 + random.int(4);
      const seats = new Set<number>();
      while (seats.size < count) seats.add(random.int(options.seatsInEvent));
      const best =
        options.bestAvailable && random.next() < options.bestAvailable.share
          ? options.bestAvailable.draw(random)
          : undefined;
      return {
        seatIds: random.shuffle([...seats].map((seatNo) => `s${seatNo}`)),
        best,
        then: random.pick(['confirm', 'cancel', 'keep'] as const),
      };
    }),
  }));

  const result: StormResult = { statuses: new Map(), expected: new Map(), problems: [] };
  const count = (status: number) => result.statuses.set(status, (result.statuses.get(status) ?? 0) + 1);
  let holdsAnswered = 0;
  let midway: Promise<void> | undefined;

  await Promise.all(
    plans.map(async (plan, userIndex) => {
      for (const [roundIndex, round] of plan.rounds.entries()) {
        const held = await call(
          plan.base,
          'POST',
          `/v1/events/${eventId}/reservations`,
          plan.token,
          round.best ? { best_available: round.best } : { seat_ids: round.seatIds },
        );
        count(held.status);
        holdsAnswered += 1;
        if (options.midway && holdsAnswered === options.midway.afterHolds) midway = options.midway.run();
        if (round.best && held.status === 409 && held.body.code !== 'NOT_ENOUGH_SEATS') {
          result.problems.push(`best available answered 409 ${held.body.code}: ${JSON.stringify(held.body)}`);
        }
        if (!round.best && held.status === 409 && held.body.code === 'SEAT_UNAVAILABLE') {
          const conflicting: string[] = held.body.conflicting_seat_ids;
          if (conflicting.length === 0 || conflicting.some((seatId) => !round.seatIds.includes(seatId))) {
            result.problems.push(`409 names seats not asked for: ${JSON.stringify(held.body)}`);
          }
        }
        if (held.status !== 201) continue;
        const id: string = held.body.reservation_id;
        const seatIds = round.best
          ? (held.body.seats as { seat_id: string }[]).map((seat) => seat.seat_id)
          : round.seatIds;
        result.expected.set(id, { userIndex, seatIds, status: 'active', best: round.best });
        if (round.then === 'confirm') {
          const confirmed = await call(
            plan.base,
            'POST',
            `/v1/reservations/${id}/confirm`,
            plan.token,
            { payment_method: 'pm_card_visa' },
            { 'idempotency-key': `race-${eventId}-${userIndex}-${roundIndex}` },
          );
          count(confirmed.status);
          if (confirmed.status === 201) result.expected.get(id)!.status = 'confirmed';
          else
            result.problems.push(
              `confirm of a live hold answered ${confirmed.status}: ${JSON.stringify(confirmed.body)}`,
            );
        } else if (round.then === 'cancel') {
          const cancelled = await call(plan.base, 'DELETE', `/v1/reservations/${id}`, plan.token);
          count(cancelled.status);
          if (cancelled.status === 204) result.expected.get(id)!.status = 'cancelled';
          else result.problems.push(`cancel answered ${cancelled.status}`);
        }
      }
    }),
  );
  await midway;
  return result;
}

/**
 * The database shows exactly what was acknowledged, the invariants hold, no 5xx was
 * answered, and every server's seat map agrees with the database.
 */
export async function verifyStorm(db: Database, options: StormOptions, result: StormResult): Promise<void> {
  const { statuses, expected, problems } = result;
  console.log('statuses:', Object.fromEntries(statuses));
  const serverErrors = [...statuses].filter(([status]) => status >= 500);
  assert.deepEqual(serverErrors, [], 'no 5xx under contention');
  assert.deepEqual(problems, []);
  assert.ok((statuses.get(201) ?? 0) > 0, 'some holds won');
  assert.ok((statuses.get(409) ?? 0) > 0, 'some holds lost: the race was real');

  // Every acknowledged hold is in the database, with its seats and the state we left it in.
  const { rows } = await db.query<{ id: string; user_id: string; status: string; seat_nos: number[] }>(
    `SELECT id, user_id, status, seat_nos FROM reservations WHERE event_id = $1`,
    [options.eventId],
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
      want.seatIds.map((seatId) => Number(seatId.slice(1))).sort((a, b) => a - b),
    );
  }
  assert.deepEqual(await checkInvariants(db), []);

  // Each server's seat map agrees with the database: held + booked seats are exactly
  // those of live reservations and bookings.
  const taken = new Set<string>();
  for (const want of expected.values())
    if (want.status !== 'cancelled') want.seatIds.forEach((seatId) => taken.add(seatId));
  const blocked = options.blockedSeatIds?.() ?? new Set<string>();
  for (const base of options.urls) {
    const map = await options.call(base, 'GET', `/v1/events/${options.eventId}/seats`);
    assert.equal(map.status, 200);
    for (const seat of map.body.seats as { seat_id: string; status: string }[]) {
      const want = blocked.has(seat.seat_id) ? 'blocked' : taken.has(seat.seat_id) ? 'taken' : 'available';
      const shown = seat.status === 'held' || seat.status === 'booked' ? 'taken' : seat.status;
      assert.equal(shown, want, `${base}: seat ${seat.seat_id} is ${seat.status}`);
    }
  }
}
