// GET /v1/events/{id}/availability as a flash sale reads it (http/availability-cache.ts):
// built at most once per interval per event and shared, 304 on the current ETag, and with
// `?since=<version>` the changes since that version (encoding "seat-changes") when the
// server still knows them and they are smaller than the whole map, else the full document.
// The clock is a ManualClock: holds lapse and the shared document ages only when a test
// moves it. Runs on PGlite + the in-process board and on PostgreSQL + Redis.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inflateRawSync } from 'node:zlib';
import { ManualClock } from '../../src/adapters/clock/system-clock.ts';
import { expireDueHolds } from '../../src/app/expire-holds.ts';
import { AvailabilityCache } from '../../src/http/availability-cache.ts';
import {
  auth,
  confirmReservation,
  createEvent,
  startTestApp,
  testDb,
  type TestApp,
  type TestAppOptions,
} from '../support/harness.ts';
import { seededRandom, seedFromEnv } from '../support/random.ts';

const startMs = Date.parse('2027-01-10T15:00:00Z');
const statusCode = { available: 0, held: 1, booked: 2 } as const;
type Status = keyof typeof statusCode;

interface FullDocument {
  event_id: string;
  version: number;
  seat_count: number;
  encoding: '2bit-deflate-raw-base64';
  data: string;
}

interface ChangesDocument {
  event_id: string;
  version: number;
  seat_count: number;
  encoding: 'seat-changes';
  since: number;
  changes: { seat_id: string; status: Status }[];
}

/** A map as a client keeps it: one status code per seat, the version and the ETag. */
interface ClientMap {
  version: number;
  tag: string;
  codes: Uint8Array;
}

function decode(body: FullDocument): Uint8Array {
  assert.equal(body.encoding, '2bit-deflate-raw-base64');
  const bytes = inflateRawSync(Buffer.from(body.data, 'base64'));
  return Uint8Array.from({ length: body.seat_count }, (_, n) => (bytes[n >> 2]! >> (6 - 2 * (n & 3))) & 3);
}

/** The client's map after the changes: a copy, the old one stays as it was. */
function applyChanges(codes: Uint8Array, body: ChangesDocument): Uint8Array {
  assert.equal(body.seat_count, codes.length);
  const next = codes.slice();
  let previous = -1;
  for (const change of body.changes) {
    const seatNo = Number(change.seat_id.slice(1));
    assert.ok(seatNo > previous, 'in seat order, each seat once');
    previous = seatNo;
    next[seatNo] = statusCode[change.status];
  }
  return next;
}

/** An event of `seats` seats in rows of 100 that one user may hold 1,000 of. */
const withSeats = (seats: number) => ({
  max_seats_per_user: 1_000,
  seat_map: {
    sections: [
      {
        name: 'A',
        price_tier: 'front',
        rows: Array.from({ length: seats / 100 }, (_, row) => ({ label: String(row + 1), seats: 100 })),
      },
    ],
  },
});

async function withApp(
  options: TestAppOptions & { env?: Record<string, string> },
  run: (t: TestApp, clock: ManualClock) => Promise<void>,
) {
  const clock = new ManualClock(startMs);
  const t = await startTestApp({
    clock,
    ...options,
    env: { HOLD_TTL_SECONDS: '60', SEATS_PER_HOLD_MAX: '1000', ...options.env },
  });
  try {
    await run(t, clock);
  } finally {
    await t.close();
  }
}

function api(t: TestApp, eventId: string) {
  const read = (query = '', headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/availability${query}`, headers });
  return {
    read,
    /** The full document, as a client keeps it. */
    async full(): Promise<ClientMap> {
      const response = await read();
      assert.equal(response.statusCode, 200, response.body);
      const body = response.json() as FullDocument;
      return { version: body.version, tag: String(response.headers.etag), codes: decode(body) };
    },
    /** Asks for the changes since the client's map: the map after them, and which kind of answer came. */
    async since(map: ClientMap): Promise<{ map: ClientMap; kind: 'changes' | 'full' }> {
      const response = await read(`?since=${map.version}`);
      assert.equal(response.statusCode, 200, response.body);
      assert.match(String(response.headers['content-type']), /^application\/json/);
      const body = response.json() as FullDocument | ChangesDocument;
      const tag = String(response.headers.etag);
      if (body.encoding === 'seat-changes') {
        assert.equal(body.since, map.version);
        assert.equal(body.event_id, eventId);
        return { map: { version: body.version, tag, codes: applyChanges(map.codes, body) }, kind: 'changes' };
      }
      return { map: { version: body.version, tag, codes: decode(body) }, kind: 'full' };
    },
    async hold(user: string, seatNos: number[]) {
      return t.app.inject({
        method: 'POST',
        url: `/v1/events/${eventId}/reservations`,
        headers: auth(await t.token(user)),
        payload: { seat_ids: seatNos.map((n) => `s${n}`) },
      });
    },
    async mustHold(user: string, seatNos: number[]): Promise<string> {
      const response = await this.hold(user, seatNos);
      assert.equal(response.statusCode, 201, response.body);
      return response.json().reservation_id as string;
    },
    async cancel(user: string, reservationId: string) {
      return t.app.inject({
        method: 'DELETE',
        url: `/v1/reservations/${reservationId}`,
        headers: auth(await t.token(user)),
      });
    },
  };
}

/**
 * Books `count` seats scattered at random, so the full document is large enough (its
 * DEFLATE has something to do) that changes of a few seats are the smaller answer.
 */
async function scatterBookings(t: TestApp, call: ReturnType<typeof api>, seats: number, count: number, seed: number) {
  const random = seededRandom(seed);
  const picked = new Set<number>();
  while (picked.size < count) picked.add(random.int(seats));
  const reservationId = await call.mustHold('filler', [...picked]);
  const booked = await confirmReservation(t, 'filler', reservationId, `filler-${seed}`);
  assert.equal(booked.statusCode, 201, booked.body);
  return picked;
}

describe(`availability changes since a version on ${testDb}`, () => {
  test('when the client presents the current ETag, with or without since, then 304; after a change, 200 with the new ETag', async () => {
    await withApp({}, async (t) => {
      const eventId = await createEvent(t, withSeats(400), startMs);
      const call = api(t, eventId);
      const first = await call.full();
      for (const query of ['', `?since=${first.version}`, '?since=1']) {
        const same = await call.read(query, { 'if-none-match': first.tag });
        assert.equal(same.statusCode, 304, `${query}: ${same.body}`);
        assert.equal(same.body, '');
        assert.equal(same.headers.etag, first.tag);
      }
      await call.mustHold('buyer', [7]);
      const after = await call.read(`?since=${first.version}`, { 'if-none-match': first.tag });
      assert.equal(after.statusCode, 200);
      assert.notEqual(after.headers.etag, first.tag);
      assert.equal(
        (await call.read(`?since=${first.version}`, { 'if-none-match': String(after.headers.etag) })).statusCode,
        304,
      );
      // A client without since is unaffected: the full document, as before.
      const full = await call.read('', { 'if-none-match': first.tag });
      assert.equal(full.statusCode, 200);
      assert.deepEqual(Object.keys(full.json()).sort(), ['data', 'encoding', 'event_id', 'seat_count', 'version']);
      assert.equal(full.headers.etag, after.headers.etag, 'one ETag per state, whichever document');
    });
  });

  test('when seats are held, confirmed, cancelled, lapse and are swept, then every change document applied to the map it starts from gives the full document', async () => {
    const seed = seedFromEnv();
    console.log(`availability changes seed: ${seed} (TEST_SEED=${seed} replays it)`);
    const random = seededRandom(seed);
    await withApp({}, async (t, clock) => {
      const seats = 2_000;
      const eventId = await createEvent(t, withSeats(seats), startMs);
      const call = api(t, eventId);
      await scatterBookings(t, call, seats, 500, seed ^ 0x5bd1e995);
      const users = ['ann', 'ben', 'cai', 'dee'];
      const active: { user: string; reservationId: string }[] = [];
      const kept: ClientMap[] = [await call.full()];
      const answered = { changes: 0, full: 0 };
      for (let step = 0; step < 60; step += 1) {
        const roll = random.next();
        if (roll < 0.4) {
          const user = random.pick(users);
          const want = 1 + random.int(3);
          const shown = kept.at(-1)!.codes;
          const free = [...shown.keys()].filter((n) => n + want <= seats && shown[n] === statusCode.available);
          const start = random.pick(free);
          const held = await call.hold(
            user,
            Array.from({ length: want }, (_, i) => start + i),
          );
          if (held.statusCode === 201) active.push({ user, reservationId: held.json().reservation_id });
          else assert.equal(held.statusCode, 409, held.body);
        } else if (roll < 0.55 && active.length > 0) {
          const { user, reservationId } = active.splice(random.int(active.length), 1)[0]!;
          const paid = await confirmReservation(t, user, reservationId, `key-${seed}-${step}`);
          assert.ok([201, 409, 410].includes(paid.statusCode), paid.body);
        } else if (roll < 0.7 && active.length > 0) {
          const { user, reservationId } = active.splice(random.int(active.length), 1)[0]!;
          assert.ok([204, 409, 410].includes((await call.cancel(user, reservationId)).statusCode));
        } else if (roll < 0.9) {
          clock.advance(random.int(30_000)); // holds lapse (shown available, unswept)
        } else {
          await expireDueHolds(t.runtime.deps, 100);
        }
        const now = await call.full();
        // Every map kept so far asks for what changed since: the answer must give today's map.
        for (const map of kept.slice(-6)) {
          const { map: updated, kind } = await call.since(map);
          answered[kind] += 1;
          assert.equal(updated.version, now.version, `step ${step}: since ${map.version}`);
          assert.equal(updated.tag, now.tag, `step ${step}: the same state, the same ETag`);
          assert.deepEqual(updated.codes, now.codes, `step ${step} (${kind}) since ${map.version}, seed ${seed}`);
        }
        kept.push(now);
      }
      assert.ok(answered.changes >= 60, `most answers are changes: ${JSON.stringify(answered)}`);
    });
  });

  test('when a hold lapses unswept (no new version), then the changes since the current version name it available; once swept, too', async () => {
    await withApp({}, async (t, clock) => {
      const seats = 2_000;
      const eventId = await createEvent(t, withSeats(seats), startMs);
      const call = api(t, eventId);
      const booked = await scatterBookings(t, call, seats, 500, 7);
      const free = [...Array(seats).keys()].filter((n) => !booked.has(n));
      await call.mustHold('ann', [free[0]!, free[1]!]);
      const held = await call.full();
      assert.equal(held.codes[free[0]!], statusCode.held);

      clock.advance(60_000); // the hold ends: same version, another map
      const lapsed = await call.since(held);
      assert.equal(lapsed.kind, 'changes');
      assert.equal(lapsed.map.version, held.version, 'a lapse moves no version');
      assert.notEqual(lapsed.map.tag, held.tag);
      assert.deepEqual(lapsed.map.codes, (await call.full()).codes);
      assert.equal(lapsed.map.codes[free[0]!], statusCode.available);

      await expireDueHolds(t.runtime.deps, 100);
      for (const from of [held, lapsed.map]) {
        const swept = await call.since(from);
        assert.equal(swept.kind, 'changes');
        assert.ok(swept.map.version > held.version);
        assert.deepEqual(swept.map.codes, (await call.full()).codes);
      }
    });
  });

  test('when since is older than the server remembers, ahead of the map, or from PostgreSQL, then the full document', async () => {
    await withApp({ env: { SEAT_CHANGE_LOG_MAX: '3' } }, async (t) => {
      const eventId = await createEvent(t, withSeats(2_000), startMs);
      const call = api(t, eventId);
      const booked = await scatterBookings(t, call, 2_000, 500, 11);
      const free = [...Array(2_000).keys()].filter((n) => !booked.has(n));
      const old = await call.full();
      for (let index = 0; index < 5; index += 1) await call.mustHold(`buyer-${index}`, [free[index]!]);
      // Five batches since, the board's log keeps three: the changes are no longer known.
      const tooOld = await call.since(old);
      assert.equal(tooOld.kind, 'full');
      assert.deepEqual(tooOld.map.codes, (await call.full()).codes);
      assert.equal((await call.since({ ...old, version: 1 })).kind, 'full', 'a version from before');
      const ahead = await call.since({ ...tooOld.map, version: tooOld.map.version + 1 });
      assert.equal(ahead.kind, 'full', 'a version from the future');
      assert.equal(ahead.map.version, tooOld.map.version);
      // From now on the window reaches back to the last build.
      await call.mustHold('buyer-5', [free[5]!]);
      assert.equal((await call.since(tooOld.map)).kind, 'changes');

      // The board cannot answer (Redis down): the map comes from PostgreSQL, whole.
      const board = t.runtime.deps.board;
      const availability = board.availability;
      board.availability = async () => null;
      try {
        const current = await call.full();
        assert.match(current.tag, /^"d/);
        const fromDatabase = await call.since(current);
        assert.equal(fromDatabase.kind, 'full');
        assert.equal((await call.read(`?since=${current.version}`, { 'if-none-match': current.tag })).statusCode, 304);
      } finally {
        board.availability = availability;
      }
    });
  });

  test('when an event has more recent changes than the window keeps, then the oldest are forgotten (full document) and the rest still answered; only the last events are kept', async () => {
    await withApp({}, async (t) => {
      const eventId = await createEvent(t, withSeats(2_000), startMs);
      const call = api(t, eventId);
      const booked = await scatterBookings(t, call, 2_000, 500, 17);
      const free = [...Array(2_000).keys()].filter((n) => !booked.has(n));
      const cache = new AvailabilityCache(t.runtime.deps, { maxAgeMs: 0, windowChangesMax: 3, eventsMax: 2 });
      const versions = [(await cache.read(eventId)).state.version];
      for (let index = 0; index < 3; index += 1) {
        await call.mustHold(`buyer-${index}`, [free[2 * index]!, free[2 * index + 1]!]); // one batch, two seats
        versions.push((await cache.read(eventId)).state.version);
      }
      const built = await cache.read(eventId);
      // Six changes in three batches, three kept: only the last batch (two seats) is remembered.
      assert.equal(cache.changesSince(built, versions[0]!), null);
      assert.equal(cache.changesSince(built, versions[1]!), null);
      const recent = JSON.parse(String(cache.changesSince(built, versions[2]!)));
      assert.deepEqual(
        recent.changes.map((change: { seat_id: string }) => change.seat_id),
        [`s${free[4]}`, `s${free[5]}`],
      );
      assert.equal(recent.version, versions[3]);

      // Two events kept: reading two others forgets the first one's window.
      for (const other of [
        await createEvent(t, withSeats(100), startMs),
        await createEvent(t, withSeats(100), startMs),
      ]) {
        await cache.read(other);
      }
      const again = await cache.read(eventId);
      assert.equal(cache.changesSince(again, versions[2]!), null, 'a new window, from the new build on');
      assert.notEqual(cache.changesSince(again, again.state.version), null);
    });
  });

  test('when since or If-None-Match is garbage, then 400 problem+json or the full document, never 5xx', async () => {
    await withApp({}, async (t) => {
      const eventId = await createEvent(t, withSeats(400), startMs);
      const call = api(t, eventId);
      for (const query of [
        '?since=abc',
        '?since=-1',
        '?since=1.5',
        '?since=1e3',
        '?since=',
        '?since=12345678901234567',
        '?since=1&since=2',
      ]) {
        const refused = await call.read(query);
        assert.equal(refused.statusCode, 400, `${query}: ${refused.body}`);
        assert.match(String(refused.headers['content-type']), /^application\/problem\+json/);
        assert.equal(refused.json().code, 'VALIDATION_FAILED');
      }
      for (const tag of ['garbage', '"c99999999999999999.0.0"', 'W/""', ',,,', '"', '*'.repeat(500)]) {
        const answer = await call.read(`?since=0`, { 'if-none-match': tag });
        assert.equal(answer.statusCode, 200, `${tag}: ${answer.body}`);
        assert.equal(answer.json().encoding, '2bit-deflate-raw-base64');
      }
      assert.equal((await call.read('?since=9999999999999999')).statusCode, 200);
      const unknown = await t.app.inject({ method: 'GET', url: '/v1/events/nope/availability?since=1' });
      assert.equal(unknown.statusCode, 404);
      assert.match(String(unknown.headers['content-type']), /^application\/problem\+json/);

      // The OpenAPI document says how to ask, and that the answer may lag.
      const openapi = (await t.app.inject({ method: 'GET', url: '/openapi.json' })).json();
      const operation = openapi.paths['/v1/events/{event_id}/availability'].get;
      assert.ok(operation.parameters.some((parameter: { name: string }) => parameter.name === 'since'));
      assert.match(operation.description, /may lag/);
      assert.match(JSON.stringify(operation.responses['200']), /seat-changes/);
    });
  });

  test('when many read within the interval, then one build serves them all, a change shows after the interval, and its ETag gives 304', async () => {
    await withApp({ availabilityMaxAgeMs: 100 }, async (t, clock) => {
      const eventId = await createEvent(t, withSeats(2_000), startMs);
      const call = api(t, eventId);
      const booked = await scatterBookings(t, call, 2_000, 500, 13);
      const seat = [...Array(2_000).keys()].find((n) => !booked.has(n))!;
      clock.advance(100); // past the interval of the reads the bookings made
      const board = t.runtime.deps.board;
      const availability = board.availability;
      let builds = 0;
      board.availability = (...args: Parameters<typeof availability>) => {
        builds += 1;
        return availability.apply(board, args);
      };
      try {
        const first = await call.full();
        assert.equal(builds, 1);
        await call.mustHold('buyer', [seat]);
        const meanwhile = await Promise.all(Array.from({ length: 20 }, () => call.read()));
        for (const answer of meanwhile) {
          assert.equal(answer.statusCode, 200);
          assert.equal(answer.headers.etag, first.tag, 'the state of the last build, up to 100 ms old');
        }
        assert.equal((await call.read('', { 'if-none-match': first.tag })).statusCode, 304);
        assert.equal(builds, 1, 'no build within the interval');

        clock.advance(100);
        const later = await Promise.all(Array.from({ length: 20 }, () => call.read(`?since=${first.version}`)));
        assert.equal(builds, 2, 'one build for the twenty readers after the interval');
        assert.equal(new Set(later.map((answer) => answer.body)).size, 1, 'the same bytes for all');
        const changes = later[0]!.json() as ChangesDocument;
        assert.equal(changes.encoding, 'seat-changes');
        assert.deepEqual(changes.changes, [{ seat_id: `s${seat}`, status: 'held' }]);
        const tag = String(later[0]!.headers.etag);
        assert.notEqual(tag, first.tag);
        assert.equal((await call.read('', { 'if-none-match': tag })).statusCode, 304);
        assert.equal((await call.read(`?since=${first.version}`, { 'if-none-match': tag })).statusCode, 304);
      } finally {
        board.availability = availability;
      }
    });
  });
});
