// The classic designs of a seat sale, for the flash-sale benchmark only (never part of the
// service): one bare Fastify process that sells each event with the design named when the
// event was created, so bench/flash-sale.ts can run the same buyers against each:
//
//   pessimistic  PostgreSQL: SELECT … FOR UPDATE of the seats in a transaction, then UPDATE
//                (a contended seat makes the next buyer wait on its row lock)
//   optimistic   PostgreSQL: read the seats and their versions without a lock, then one
//                UPDATE … WHERE version = the version read (0 rows changed for a seat → 409)
//   setnx        Redis: one SET NX PX per seat, one after the other, with no atomic step over
//                the seats of a hold: a hold that gets some seats and then meets a taken one
//                has held part of its seats for a while (a partial hold) and gives them back
//   lua          Redis: one atomic Lua script per hold (all the seats or none) and per
//                confirm: the ceiling of a hold path on this machine
//
// Routes (the service's paths and answers, as far as the buyers use them):
//   POST /v1/events {mode, seat_count}                 201 {event_id, seat_count}
//   GET  /v1/events/:id/availability                   200 {event_id, seat_count, encoding, data}
//        (the service's encoding: 2 bits per seat, raw DEFLATE, base64; computed from the
//        store at most every availabilityCacheMs, one computation at a time)
//   POST /v1/events/:id/reservations {seat_ids}        201 {reservation_id, seats, expires_at} | 409
//   POST /v1/reservations/:id/confirm                  201 {booking_id, reservation_id, seats} | 410
//   GET  /v1/bench/check?event_id=…                    the store's own end state (see check*)
//   GET  /v1/ping                                      200 {"ok":true}: the trivial endpoint that
//                                                      shows the load generator's own ceiling
//   GET  /readyz
//
// No token check (a Bearer header must be there), no per-user cap, no waiting room, no
// logging. Holds last HOLD_TTL_SECONDS; an expired hold is available (lazy expiry).
// env: PORT, HOST, DATABASE_URL (its bl_* tables are created here), REDIS_URL,
// BASELINE_KEY_PREFIX (must start with "bench-"; every key under it is deleted at start and
// stop, SCAN + UNLINK, never FLUSHDB), HOLD_TTL_SECONDS, DATABASE_POOL_MAX (20).
import { randomUUID } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import Fastify, { type FastifyReply } from 'fastify';
import { Redis, type Result } from 'ioredis';
import pg from 'pg';
import { deletePrefix } from './child-scenario.ts';

export const baselineModes = ['pessimistic', 'optimistic', 'setnx', 'lua'] as const;
export type BaselineMode = (typeof baselineModes)[number];

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** KEYS: the event's hash. ARGV: now ms, expiry ms, reservation id, seat ids… → [] or the taken seat ids. */
    baselineHold(key: string, now: number, expiry: number, id: string, ...seats: string[]): Result<string[], Context>;
    /** KEYS: the event's hash. ARGV: now ms, reservation id → the seats booked, or [] when the hold is gone. */
    baselineConfirm(key: string, now: number, id: string): Result<string[], Context>;
  }
}

// Hash fields: seat id → "<expiry ms>:<reservation id>" (held) or "b:<reservation id>" (booked);
// "r:<reservation id>" → "<expiry ms>:<seat id>,<seat id>…" (the hold's seats).
const luaHold = `
local now = tonumber(ARGV[1])
local taken = {}
for i = 4, #ARGV do
  local value = redis.call('HGET', KEYS[1], ARGV[i])
  if value and (string.sub(value, 1, 2) == 'b:' or tonumber(string.match(value, '^%d+')) > now) then
    taken[#taken + 1] = ARGV[i]
  end
end
if #taken > 0 then return taken end
local seats = {}
for i = 4, #ARGV do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[2] .. ':' .. ARGV[3])
  seats[#seats + 1] = ARGV[i]
end
redis.call('HSET', KEYS[1], 'r:' .. ARGV[3], ARGV[2] .. ':' .. table.concat(seats, ','))
return {}
`;
const luaConfirm = `
local now = tonumber(ARGV[1])
local record = redis.call('HGET', KEYS[1], 'r:' .. ARGV[2])
if not record then return {} end
local expiry, list = string.match(record, '^(%d+):(.*)$')
if tonumber(expiry) <= now then return {} end
local seats = {}
for seat in string.gmatch(list, '[^,]+') do seats[#seats + 1] = seat end
for i = 1, #seats do
  if redis.call('HGET', KEYS[1], seats[i]) ~= expiry .. ':' .. ARGV[2] then return {} end
end
for i = 1, #seats do redis.call('HSET', KEYS[1], seats[i], 'b:' .. ARGV[2]) end
redis.call('HDEL', KEYS[1], 'r:' .. ARGV[2])
return seats
`;

const availabilityCacheMs = 100;
const seatsPerHoldMax = 20;

interface EventInfo {
  mode: BaselineMode;
  seatCount: number;
}
interface Availability {
  computedAtMs: number;
  body: { event_id: string; seat_count: number; encoding: string; data: string };
}

/** 2 bits per seat, most significant first (the service's layout), raw DEFLATE, base64. */
function encodeAvailability(seatCount: number, statuses: Iterable<[seatNo: number, status: 1 | 2]>) {
  const bits = new Uint8Array(Math.ceil(seatCount / 4));
  for (const [seatNo, status] of statuses) {
    if (seatNo < 0 || seatNo >= seatCount) continue;
    bits[seatNo >> 2]! |= status << (6 - 2 * (seatNo & 3));
  }
  return deflateRawSync(bits).toString('base64');
}

const seatNoOf = (seatId: string) => (/^s(\d{1,7})$/.test(seatId) ? Number(seatId.slice(1)) : -1);

function problem(reply: FastifyReply, status: number, code: string, extra: object = {}) {
  return reply
    .code(status)
    .type('application/problem+json')
    .send({ status, code, ...extra });
}

export async function startBaselineServer(env: NodeJS.ProcessEnv) {
  const holdTtlMs = Number(env.HOLD_TTL_SECONDS ?? 600) * 1000;
  const prefix = env.BASELINE_KEY_PREFIX ?? 'bench-baseline:';
  if (!prefix.startsWith('bench-') || /[*?[\]\\]/.test(prefix))
    throw new Error('BASELINE_KEY_PREFIX must start with "bench-"');
  const pool = env.DATABASE_URL
    ? new pg.Pool({ connectionString: env.DATABASE_URL, max: Number(env.DATABASE_POOL_MAX ?? 20) })
    : null;
  const redis = env.REDIS_URL
    ? new Redis(env.REDIS_URL, { enableAutoPipelining: true, maxRetriesPerRequest: 1 })
    : null;
  redis?.defineCommand('baselineHold', { numberOfKeys: 1, lua: luaHold });
  redis?.defineCommand('baselineConfirm', { numberOfKeys: 1, lua: luaConfirm });
  const hashKey = (eventId: string) => `${prefix}{${eventId}}:holds`;
  const seatKey = (eventId: string, seatNo: number) => `${prefix}{${eventId}}:seat:${seatNo}`;
  const counterKey = (eventId: string, name: string) => `${prefix}{${eventId}}:count:${name}`;
  const reservationKey = (id: string) => `${prefix}res:${id}`;

  const deleteOwnKeys = async () => (redis ? deletePrefix(redis, prefix) : 0);

  if (pool) {
    await pool.query(`
      CREATE TABLE IF NOT EXISTS bl_seats (
        event_id uuid NOT NULL, seat_no integer NOT NULL,
        status smallint NOT NULL DEFAULT 0, -- 0 available, 1 held (until hold_expires_at), 2 booked
        holder uuid, hold_expires_at timestamptz, version integer NOT NULL DEFAULT 0,
        PRIMARY KEY (event_id, seat_no)) WITH (fillfactor = 80);
      CREATE TABLE IF NOT EXISTS bl_reservations (
        id uuid PRIMARY KEY, event_id uuid NOT NULL, seat_nos integer[] NOT NULL,
        status text NOT NULL, expires_at timestamptz NOT NULL);
      -- No key on (event, seat): an oversold seat would show as two bookings, not as an error.
      CREATE TABLE IF NOT EXISTS bl_bookings (
        id uuid PRIMARY KEY, reservation_id uuid NOT NULL, event_id uuid NOT NULL, seat_nos integer[] NOT NULL);`);
  }
  await deleteOwnKeys();

  const events = new Map<string, EventInfo>();
  const availability = new Map<string, Availability>();
  const computing = new Map<string, Promise<Availability>>();
  let partialHolds = 0; // setnx: holds that took some of their seats, then met a taken one

  async function withTransaction<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await pool!.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }
  class Refused extends Error {
    constructor(readonly seatNos: number[]) {
      super('refused');
    }
  }

  /** The taken seats among rows read from bl_seats. */
  const takenOf = (rows: { seat_no: number; status: number; hold_expires_at: Date | null }[], nowMs: number) =>
    rows
      .filter((row) => row.status === 2 || (row.status === 1 && row.hold_expires_at!.getTime() > nowMs))
      .map((row) => row.seat_no);

  // ------------------------------------------------------------ holds, one function per design

  async function holdPessimistic(eventId: string, seatNos: number[], id: string, nowMs: number) {
    await withTransaction(async (client) => {
      const { rows } = await client.query(
        `SELECT seat_no, status, hold_expires_at FROM bl_seats
         WHERE event_id = $1 AND seat_no = ANY($2) ORDER BY seat_no FOR UPDATE`,
        [eventId, seatNos],
      );
      const taken = takenOf(rows, nowMs);
      if (taken.length > 0) throw new Refused(taken);
      await client.query(
        `UPDATE bl_seats SET status = 1, holder = $3, hold_expires_at = $4, version = version + 1
         WHERE event_id = $1 AND seat_no = ANY($2)`,
        [eventId, seatNos, id, new Date(nowMs + holdTtlMs)],
      );
      await client.query(`INSERT INTO bl_reservations VALUES ($1, $2, $3, 'active', $4)`, [
        id,
        eventId,
        seatNos,
        new Date(nowMs + holdTtlMs),
      ]);
    });
  }

  async function holdOptimistic(eventId: string, seatNos: number[], id: string, nowMs: number) {
    const { rows } = await pool!.query(
      `SELECT seat_no, status, hold_expires_at, version FROM bl_seats WHERE event_id = $1 AND seat_no = ANY($2)`,
      [eventId, seatNos],
    );
    const taken = takenOf(rows, nowMs);
    if (taken.length > 0) throw new Refused(taken);
    await withTransaction(async (client) => {
      const updated = await client.query(
        `UPDATE bl_seats s SET status = 1, holder = $3, hold_expires_at = $4, version = s.version + 1
         FROM unnest($2::int[], $5::int[]) AS v(seat_no, version)
         WHERE s.event_id = $1 AND s.seat_no = v.seat_no AND s.version = v.version`,
        [eventId, rows.map((row) => row.seat_no), id, new Date(nowMs + holdTtlMs), rows.map((row) => row.version)],
      );
      if (updated.rowCount !== seatNos.length) throw new Refused(seatNos); // someone changed one since the read
      await client.query(`INSERT INTO bl_reservations VALUES ($1, $2, $3, 'active', $4)`, [
        id,
        eventId,
        seatNos,
        new Date(nowMs + holdTtlMs),
      ]);
    });
  }

  async function holdSetNx(eventId: string, seatNos: number[], id: string) {
    const got: number[] = [];
    for (const seatNo of seatNos) {
      const ok = await redis!.set(seatKey(eventId, seatNo), id, 'PX', holdTtlMs, 'NX');
      if (ok !== 'OK') {
        if (got.length > 0) {
          partialHolds += 1;
          await redis!.incr(counterKey(eventId, 'partial'));
          await redis!.del(...got.map((n) => seatKey(eventId, n))); // the naive undo: whoever holds them now
        }
        throw new Refused([seatNo]);
      }
      got.push(seatNo);
    }
    await redis!.set(reservationKey(id), `${eventId}:${seatNos.join(',')}`, 'PX', holdTtlMs * 4);
  }

  async function holdLua(eventId: string, seatNos: number[], id: string, nowMs: number) {
    const taken = await redis!.baselineHold(
      hashKey(eventId),
      nowMs,
      nowMs + holdTtlMs,
      id,
      ...seatNos.map((n) => `s${n}`),
    );
    if (taken.length > 0) throw new Refused(taken.map(seatNoOf));
    await redis!.set(reservationKey(id), eventId, 'PX', holdTtlMs * 4);
  }

  // ------------------------------------------------------------ confirms

  /** Books the hold's seats if it still holds them all, unexpired: the booked seat numbers, or null. */
  async function confirmPostgres(mode: BaselineMode, id: string, bookingId: string, nowMs: number) {
    return withTransaction(async (client) => {
      const reservation = (
        await client.query(
          `SELECT event_id, seat_nos FROM bl_reservations WHERE id = $1 AND status = 'active' FOR UPDATE`,
          [id],
        )
      ).rows[0] as { event_id: string; seat_nos: number[] } | undefined;
      if (!reservation) return null;
      const { event_id: eventId, seat_nos: seatNos } = reservation;
      if (mode === 'pessimistic') {
        const { rows } = await client.query(
          `SELECT seat_no FROM bl_seats WHERE event_id = $1 AND seat_no = ANY($2) AND status = 1 AND holder = $3
             AND hold_expires_at > $4 ORDER BY seat_no FOR UPDATE`,
          [eventId, seatNos, id, new Date(nowMs)],
        );
        if (rows.length !== seatNos.length) return null;
      }
      const updated = await client.query(
        `UPDATE bl_seats SET status = 2, hold_expires_at = NULL, version = version + 1
         WHERE event_id = $1 AND seat_no = ANY($2) AND status = 1 AND holder = $3 AND hold_expires_at > $4`,
        [eventId, seatNos, id, new Date(nowMs)],
      );
      if (updated.rowCount !== seatNos.length) throw new Refused(seatNos); // rolls the partial update back
      await client.query(`UPDATE bl_reservations SET status = 'confirmed' WHERE id = $1`, [id]);
      await client.query(`INSERT INTO bl_bookings VALUES ($1, $2, $3, $4)`, [bookingId, id, eventId, seatNos]);
      return seatNos;
    }).catch((error: unknown) => {
      if (error instanceof Refused) return null;
      throw error;
    });
  }

  /** setnx: read every seat, then mark each booked: a check, then an act, with no atomic step between. */
  async function confirmSetNx(id: string, bookingId: string) {
    const record = await redis!.get(reservationKey(id));
    if (!record) return null;
    const [eventId, list] = record.split(':') as [string, string];
    const seatNos = list.split(',').map(Number);
    const owners = await redis!.mget(...seatNos.map((n) => seatKey(eventId, n)));
    if (owners.some((owner) => owner !== id)) return null;
    for (const seatNo of seatNos) await redis!.set(seatKey(eventId, seatNo), `b:${id}`);
    await redis!.rpush(`${prefix}{${eventId}}:bookings`, `${bookingId}:${list}`);
    await redis!.del(reservationKey(id));
    return seatNos;
  }

  async function confirmLua(id: string, bookingId: string, nowMs: number) {
    const eventId = await redis!.get(reservationKey(id));
    if (!eventId) return null;
    const seats = await redis!.baselineConfirm(hashKey(eventId), nowMs, id);
    if (seats.length === 0) return null;
    await redis!.rpush(`${prefix}{${eventId}}:bookings`, `${bookingId}:${seats.map(seatNoOf).join(',')}`);
    return seats.map(seatNoOf);
  }

  // ------------------------------------------------------------ availability and the end-state check

  async function takenSeats(eventId: string, event: EventInfo, nowMs: number): Promise<[number, 1 | 2][]> {
    switch (event.mode) {
      case 'pessimistic':
      case 'optimistic': {
        const { rows } = await pool!.query(
          `SELECT seat_no, status FROM bl_seats WHERE event_id = $1 AND (status = 2 OR (status = 1 AND hold_expires_at > $2))`,
          [eventId, new Date(nowMs)],
        );
        return rows.map((row: { seat_no: number; status: 1 | 2 }) => [row.seat_no, row.status]);
      }
      case 'setnx': {
        // One key per seat: read them all (MGET in chunks), as a per-seat design must.
        const statuses: [number, 1 | 2][] = [];
        for (let first = 0; first < event.seatCount; first += 1000) {
          const seatNos = Array.from({ length: Math.min(1000, event.seatCount - first) }, (_, i) => first + i);
          const values = await redis!.mget(...seatNos.map((n) => seatKey(eventId, n)));
          values.forEach((value, i) => {
            if (value) statuses.push([seatNos[i]!, value.startsWith('b:') ? 2 : 1]);
          });
        }
        return statuses;
      }
      case 'lua': {
        const fields = await redis!.hgetall(hashKey(eventId));
        const statuses: [number, 1 | 2][] = [];
        for (const [field, value] of Object.entries(fields)) {
          if (field.startsWith('r:')) continue;
          if (value.startsWith('b:')) statuses.push([seatNoOf(field), 2]);
          else if (Number(value.slice(0, value.indexOf(':'))) > nowMs) statuses.push([seatNoOf(field), 1]);
        }
        return statuses;
      }
    }
  }

  function availabilityOf(eventId: string, event: EventInfo): Promise<Availability> {
    const cached = availability.get(eventId);
    if (cached && Date.now() - cached.computedAtMs < availabilityCacheMs) return Promise.resolve(cached);
    let running = computing.get(eventId);
    if (!running) {
      const nowMs = Date.now();
      running = takenSeats(eventId, event, nowMs)
        .then((taken) => {
          const result = {
            computedAtMs: nowMs,
            body: {
              event_id: eventId,
              seat_count: event.seatCount,
              encoding: '2bit-msb-deflate-raw-base64',
              data: encodeAvailability(event.seatCount, taken),
            },
          };
          availability.set(eventId, result);
          return result;
        })
        .finally(() => computing.delete(eventId));
      computing.set(eventId, running);
    }
    return running;
  }

  /**
   * The store's own end state: seats in more than one booking (oversold), live holds that do
   * not hold all their seats, and for setnx the holds that held part of their seats.
   */
  async function check(eventId: string, event: EventInfo) {
    const nowMs = Date.now();
    const bookings: number[][] = [];
    let partialLive = 0;
    if (event.mode === 'pessimistic' || event.mode === 'optimistic') {
      const rows = await pool!.query(`SELECT seat_nos FROM bl_bookings WHERE event_id = $1`, [eventId]);
      for (const row of rows.rows as { seat_nos: number[] }[]) bookings.push(row.seat_nos);
      const partial = await pool!.query(
        `SELECT count(*)::int AS n FROM bl_reservations r
         WHERE r.event_id = $1 AND r.status = 'active' AND r.expires_at > $2
           AND (SELECT count(*) FROM bl_seats s WHERE s.event_id = r.event_id AND s.seat_no = ANY(r.seat_nos)
                AND s.status = 1 AND s.holder = r.id AND s.hold_expires_at > $2) <> cardinality(r.seat_nos)`,
        [eventId, new Date(nowMs + 200)], // holds about to end may be mid-expiry: judged 200 ms ahead
      );
      partialLive = (partial.rows[0] as { n: number }).n;
    } else {
      for (const entry of await redis!.lrange(`${prefix}{${eventId}}:bookings`, 0, -1))
        bookings.push(
          entry
            .slice(entry.indexOf(':') + 1)
            .split(',')
            .map(Number),
        );
    }
    const owners = new Map<number, number>();
    for (const seats of bookings) for (const seat of seats) owners.set(seat, (owners.get(seat) ?? 0) + 1);
    return {
      mode: event.mode,
      bookings: bookings.length,
      booked_seats: owners.size,
      oversold_seats: [...owners.values()].filter((count) => count > 1).length,
      partial_holds_live: partialLive,
      partial_hold_attempts:
        event.mode === 'setnx' ? Number((await redis!.get(counterKey(eventId, 'partial'))) ?? 0) : 0,
    };
  }

  // ------------------------------------------------------------ HTTP

  const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });
  const eventOf = (id: string) => events.get(id);

  app.get('/readyz', async () => ({ status: 'ready' }));
  app.get('/v1/ping', async () => ({ ok: true }));

  app.post<{ Body: { mode?: string; seat_count?: number } }>('/v1/events', async (request, reply) => {
    const { mode, seat_count: seatCount } = request.body ?? {};
    if (
      !baselineModes.includes(mode as BaselineMode) ||
      !Number.isInteger(seatCount) ||
      seatCount! < 1 ||
      seatCount! > 1e6
    )
      return problem(reply, 400, 'VALIDATION_FAILED', {
        detail: `mode: one of ${baselineModes.join(', ')}; seat_count`,
      });
    const needs = mode === 'pessimistic' || mode === 'optimistic' ? pool : redis;
    if (!needs) return problem(reply, 400, 'VALIDATION_FAILED', { detail: `${mode} needs its store's URL` });
    const eventId = randomUUID();
    if (pool && (mode === 'pessimistic' || mode === 'optimistic'))
      await pool.query(`INSERT INTO bl_seats (event_id, seat_no) SELECT $1, n FROM generate_series(0, $2 - 1) n`, [
        eventId,
        seatCount,
      ]);
    events.set(eventId, { mode: mode as BaselineMode, seatCount: seatCount! });
    return reply.code(201).send({ event_id: eventId, seat_count: seatCount });
  });

  app.get<{ Params: { id: string } }>('/v1/events/:id/availability', async (request, reply) => {
    const event = eventOf(request.params.id);
    if (!event) return problem(reply, 404, 'EVENT_NOT_FOUND');
    return (await availabilityOf(request.params.id, event)).body;
  });

  app.post<{ Params: { id: string }; Body: { seat_ids?: unknown } }>(
    '/v1/events/:id/reservations',
    async (request, reply) => {
      if (!request.headers.authorization?.startsWith('Bearer ')) return problem(reply, 401, 'UNAUTHENTICATED');
      const eventId = request.params.id;
      const event = eventOf(eventId);
      if (!event) return problem(reply, 404, 'EVENT_NOT_FOUND');
      const seatIds = request.body?.seat_ids;
      const seatNos = Array.isArray(seatIds)
        ? seatIds.map((seat) => (typeof seat === 'string' ? seatNoOf(seat) : -1))
        : [];
      if (
        seatNos.length === 0 ||
        seatNos.length > seatsPerHoldMax ||
        seatNos.some((n) => n < 0 || n >= event.seatCount) ||
        new Set(seatNos).size !== seatNos.length
      )
        return problem(reply, 400, 'VALIDATION_FAILED', { detail: `seat_ids: 1 to ${seatsPerHoldMax} distinct seats` });
      const id = randomUUID();
      const nowMs = Date.now();
      try {
        if (event.mode === 'pessimistic') await holdPessimistic(eventId, seatNos, id, nowMs);
        else if (event.mode === 'optimistic') await holdOptimistic(eventId, seatNos, id, nowMs);
        else if (event.mode === 'setnx') await holdSetNx(eventId, seatNos, id);
        else await holdLua(eventId, seatNos, id, nowMs);
      } catch (error) {
        if (!(error instanceof Refused)) throw error;
        return problem(reply, 409, 'SEAT_UNAVAILABLE', { conflicting_seat_ids: error.seatNos.map((n) => `s${n}`) });
      }
      return reply.code(201).send({
        reservation_id: id,
        event_id: eventId,
        seats: seatNos.map((n) => ({ seat_id: `s${n}` })),
        expires_at: new Date(nowMs + holdTtlMs).toISOString(),
      });
    },
  );

  app.post<{ Params: { id: string } }>('/v1/reservations/:id/confirm', async (request, reply) => {
    const id = request.params.id;
    if (!/^[0-9a-f-]{36}$/.test(id)) return problem(reply, 404, 'RESERVATION_NOT_FOUND');
    const bookingId = randomUUID();
    const nowMs = Date.now();
    // The event's mode: PostgreSQL reservations are rows; Redis ones keys (setnx: "<event>:<seats>").
    let seatNos: number[] | null = null;
    const record = redis ? await redis.get(reservationKey(id)) : null;
    if (record) {
      const event = eventOf(record.split(':')[0]!);
      seatNos = event?.mode === 'setnx' ? await confirmSetNx(id, bookingId) : await confirmLua(id, bookingId, nowMs);
    } else if (pool) {
      const mode = (await pool.query(`SELECT event_id FROM bl_reservations WHERE id = $1`, [id])).rows[0] as
        { event_id: string } | undefined;
      const event = mode && eventOf(mode.event_id);
      if (event) seatNos = await confirmPostgres(event.mode, id, bookingId, nowMs);
    }
    if (!seatNos) return problem(reply, 410, 'RESERVATION_EXPIRED');
    return reply.code(201).send({
      booking_id: bookingId,
      reservation_id: id,
      seats: seatNos.map((n) => ({ seat_id: `s${n}` })),
      status: 'confirmed',
    });
  });

  app.get<{ Querystring: { event_id?: string } }>('/v1/bench/check', async (request, reply) => {
    const event = eventOf(request.query.event_id ?? '');
    if (!event) return problem(reply, 404, 'EVENT_NOT_FOUND');
    return check(request.query.event_id!, event);
  });

  return {
    app,
    partialHolds: () => partialHolds,
    async close() {
      await app.close();
      const deleted = await deleteOwnKeys().catch(() => -1);
      await pool?.end().catch(() => {});
      redis?.disconnect();
      return deleted;
    },
  };
}

const isMain = process.argv[1]?.endsWith('baseline-server.ts');
if (isMain) {
  const server = await startBaselineServer(process.env);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    const deleted = await server.close();
    process.stderr.write(`baseline server: ${signal}, deleted ${deleted} keys\n`);
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  await server.app.listen({ port: Number(process.env.PORT ?? 3200), host: process.env.HOST ?? '127.0.0.1' });
  process.stderr.write(`baseline server listening on port ${process.env.PORT}\n`);
}
