// The seat map as clients watch it: the compact availability document and the full list
// (both with ETags), lazy expiry, the hold gate's provisional entries, and the live
// stream (SSE) with its resume. Runs on PGlite + the in-process board and on
// PostgreSQL + Redis.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { inflateRawSync } from 'node:zlib';
import { ManualClock } from '../../src/adapters/clock/system-clock.ts';
import { auth, createEvent, startTestApp, type TestApp } from '../support/harness.ts';
import { seededRandom } from '../support/random.ts';

type Status = 'available' | 'held' | 'booked';
const statusOfCode: Status[] = ['available', 'held', 'booked'];
const startMs = Date.parse('2027-01-10T15:00:00Z');

const seatNoOf = (seatId: string) => Number(seatId.slice(1));

interface AvailabilityBody {
  event_id: string;
  version: number;
  seat_count: number;
  encoding: string;
  data: string;
}

/** Every seat's status from an availability document, checking the encoding on the way. */
function decodeAvailability(body: AvailabilityBody): Status[] {
  assert.equal(body.encoding, '2bit-deflate-raw-base64');
  const bytes = inflateRawSync(Buffer.from(body.data, 'base64'));
  assert.equal(bytes.length, Math.ceil(body.seat_count / 4), 'exactly 2 bits per seat');
  return Array.from({ length: body.seat_count }, (_, seatNo) => {
    const code = (bytes[seatNo >> 2]! >> (6 - 2 * (seatNo & 3))) & 3;
    assert.ok(code <= 2, `seat ${seatNo} has the unused code 3`);
    return statusOfCode[code]!;
  });
}

/** The statuses a seat list expects: every seat available but those named. */
function expected(seatCount: number, named: Record<string, Status>): Status[] {
  const statuses = Array.from({ length: seatCount }, (): Status => 'available');
  for (const [seatId, status] of Object.entries(named)) statuses[seatNoOf(seatId)] = status;
  return statuses;
}

// ------------------------------------------------------------------ the HTTP calls

function api(t: TestApp) {
  const hold = (token: string, eventId: string, seatIds: string[]) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/events/${eventId}/reservations`,
      headers: auth(token),
      payload: { seat_ids: seatIds },
    });
  const mustHold = async (token: string, eventId: string, seatIds: string[]): Promise<string> => {
    const response = await hold(token, eventId, seatIds);
    assert.equal(response.statusCode, 201, response.body);
    return response.json().reservation_id;
  };
  const confirm = async (token: string, reservationId: string) => {
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/reservations/${reservationId}/confirm`,
      headers: { ...auth(token), 'idempotency-key': `key-${reservationId}` },
      payload: { payment_method: 'pm_card_visa' },
    });
    assert.equal(response.statusCode, 201, response.body);
  };
  const cancel = async (token: string, reservationId: string) => {
    const response = await t.app.inject({
      method: 'DELETE',
      url: `/v1/reservations/${reservationId}`,
      headers: auth(token),
    });
    assert.equal(response.statusCode, 204, response.body);
  };
  const availability = (eventId: string, etag?: string) =>
    t.app.inject({
      method: 'GET',
      url: `/v1/events/${eventId}/availability`,
      headers: etag ? { 'if-none-match': etag } : {},
    });
  const seats = (eventId: string, etag?: string) =>
    t.app.inject({
      method: 'GET',
      url: `/v1/events/${eventId}/seats`,
      headers: etag ? { 'if-none-match': etag } : {},
    });
  /** The map both ways (availability and /seats), checked to agree. */
  const statuses = async (eventId: string): Promise<{ version: number; statuses: Status[] }> => {
    const compact = await availability(eventId);
    assert.equal(compact.statusCode, 200, compact.body);
    const body = compact.json() as AvailabilityBody;
    assert.equal(body.event_id, eventId);
    const decoded = decodeAvailability(body);
    const list = await seats(eventId);
    assert.equal(list.statusCode, 200, list.body);
    const listed = list.json().seats.map((seat: { status: Status }) => seat.status);
    assert.deepEqual(listed, decoded, 'GET /seats and /availability tell the same statuses');
    return { version: body.version, statuses: decoded };
  };
  /** What PostgreSQL says, by its own clock. */
  const databaseStatuses = async (eventId: string): Promise<Status[]> => {
    const { rows } = await t.runtime.db.query<{ seat_no: number; status: Status }>(
      `SELECT seat_no, CASE WHEN booking_id IS NOT NULL THEN 'booked'
                            WHEN hold_expires_at > now() THEN 'held'
                            ELSE 'available' END AS status
       FROM seats WHERE event_id = $1 ORDER BY seat_no`,
      [eventId],
    );
    return rows.map((row, index) => {
      assert.equal(row.seat_no, index);
      return row.status;
    });
  };
  return { hold, mustHold, confirm, cancel, availability, seats, statuses, databaseStatuses };
}

// ------------------------------------------------------------------ an SSE client

interface SseMessage {
  event: string;
  id: string | null;
  data: string;
}

/**
 * One open stream, read incrementally: the messages so far, and a mirror of the seat map
 * built the way a client would (a snapshot replaces it, a seat message patches it).
 */
class SeatStream {
  readonly messages: SseMessage[] = [];
  retry: number | null = null;
  heartbeats = 0;
  ended = false;
  statuses: Status[] = [];
  version: number | null = null;
  lastEventId: string | null = null;
  private buffer = '';
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly request: http.ClientRequest,
    readonly response: http.IncomingMessage,
    start?: { statuses: Status[]; version: number; lastEventId: string },
  ) {
    if (start) {
      this.statuses = [...start.statuses];
      this.version = start.version;
      this.lastEventId = start.lastEventId;
    }
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => this.feed(chunk));
    const finish = () => {
      this.ended = true;
      this.notify();
    };
    response.on('end', finish);
    response.on('close', finish);
    response.on('error', finish);
  }

  close(): void {
    this.request.destroy();
    this.response.destroy();
  }

  /** Resolves once check() holds, checked after every message; rejects after timeoutMs. */
  waitFor(check: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters.delete(waiter);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.messages)}`));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  statusOf(seatId: string): Status | undefined {
    return this.statuses[seatNoOf(seatId)];
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  private feed(chunk: string): void {
    this.buffer += chunk;
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      this.dispatch(block);
    }
    this.notify();
  }

  private dispatch(block: string): void {
    let event = 'message';
    let id: string | null = null;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) {
        if (line.slice(1).trim() === 'heartbeat') this.heartbeats += 1;
        continue;
      }
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'event') event = value;
      else if (field === 'id') id = value;
      else if (field === 'data') data.push(value);
      else if (field === 'retry') this.retry = Number(value);
    }
    if (data.length === 0) return;
    const message = { event, id, data: data.join('\n') };
    this.messages.push(message);
    this.apply(message);
  }

  private apply(message: SseMessage): void {
    const body = JSON.parse(message.data);
    assert.equal(message.id, String(body.version), 'the SSE id is the version');
    if (this.version !== null) {
      assert.ok(body.version >= this.version, `versions never go back: ${this.version} then ${body.version}`);
    }
    if (message.event === 'snapshot') {
      this.statuses = decodeAvailability(body);
    } else {
      assert.equal(message.event, 'seat');
      assert.ok(body.version > (this.version ?? -1), 'a seat message moves the version on');
      const seen = new Set<string>();
      for (const change of body.changes as { seat_id: string; status: Status }[]) {
        assert.ok(!seen.has(change.seat_id), `one net change per seat in a message: ${message.data}`);
        seen.add(change.seat_id);
        assert.ok(statusOfCode.includes(change.status), change.status);
        this.statuses[seatNoOf(change.seat_id)] = change.status;
      }
    }
    this.version = body.version;
    this.lastEventId = message.id;
  }
}

interface StreamAnswer {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  /** Open when 200. */
  stream?: SeatStream;
  /** The body of any other answer. */
  body?: string;
}

const openStreams = new Set<SeatStream>();

function openStream(
  baseUrl: string,
  eventId: string,
  headers: Record<string, string> = {},
  start?: { statuses: Status[]; version: number; lastEventId: string },
): Promise<StreamAnswer> {
  return new Promise((resolve, reject) => {
    const request = http.get(
      `${baseUrl}/v1/events/${eventId}/seats/stream`,
      { agent: false, headers: { accept: 'text/event-stream', ...headers } },
      (response) => {
        const statusCode = response.statusCode ?? 0;
        if (statusCode !== 200) {
          let body = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (body += chunk));
          response.on('end', () => resolve({ statusCode, headers: response.headers, body }));
          response.on('error', reject);
          return;
        }
        const stream = new SeatStream(request, response, start);
        openStreams.add(stream);
        resolve({ statusCode, headers: response.headers, stream });
      },
    );
    request.on('error', reject);
  });
}

async function mustOpen(
  baseUrl: string,
  eventId: string,
  headers: Record<string, string> = {},
  start?: { statuses: Status[]; version: number; lastEventId: string },
): Promise<SeatStream> {
  const answer = await openStream(baseUrl, eventId, headers, start);
  assert.equal(answer.statusCode, 200, answer.body);
  assert.match(String(answer.headers['content-type']), /^text\/event-stream/);
  return answer.stream!;
}

function closeAllStreams(): void {
  for (const stream of openStreams) stream.close();
  openStreams.clear();
}

/** How many stream clients the server counts now (its metrics gauge). */
async function liveClients(t: TestApp): Promise<number> {
  const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
  const match = /^seat_map_stream_clients (\d+)$/m.exec(metrics.body);
  assert.ok(match, 'the metrics name the live clients');
  return Number(match[1]);
}

async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

// ------------------------------------------------------------------ reads, on a manual clock

describe('seat map reads', () => {
  let t: TestApp;
  let clock: ManualClock;
  let call: ReturnType<typeof api>;
  let alice: string;
  let bob: string;

  before(async () => {
    clock = new ManualClock(startMs);
    t = await startTestApp({ clock, env: { HOLD_TTL_SECONDS: '600' } });
    call = api(t);
    alice = await t.token('alice');
    bob = await t.token('bob');
  });
  after(() => t.close());

  test('when seats are held and booked, then availability decodes to their statuses and the version grows', async () => {
    const eventId = await createEvent(t, {}, startMs);
    const fresh = await call.availability(eventId);
    assert.equal(fresh.statusCode, 200);
    const freshBody = fresh.json() as AvailabilityBody;
    assert.deepEqual(Object.keys(freshBody).sort(), ['data', 'encoding', 'event_id', 'seat_count', 'version']);
    assert.equal(freshBody.event_id, eventId);
    assert.equal(freshBody.seat_count, 40);
    assert.ok(Number.isSafeInteger(freshBody.version) && freshBody.version >= 0);
    assert.deepEqual(decodeAvailability(freshBody), expected(40, {}));
    assert.ok(fresh.headers.etag, 'an ETag');

    await call.mustHold(alice, eventId, ['s1', 's0']);
    const held = await call.statuses(eventId);
    assert.deepEqual(held.statuses, expected(40, { s0: 'held', s1: 'held' }));
    assert.ok(held.version > freshBody.version, `${held.version} > ${freshBody.version}`);

    await call.confirm(bob, await call.mustHold(bob, eventId, ['s2']));
    const booked = await call.statuses(eventId);
    assert.deepEqual(booked.statuses, expected(40, { s0: 'held', s1: 'held', s2: 'booked' }));
    assert.ok(booked.version > held.version, `${booked.version} > ${held.version}`);

    // The same state: 304 with no body, for both representations.
    const current = await call.availability(eventId);
    const etag = String(current.headers.etag);
    assert.notEqual(etag, String(fresh.headers.etag));
    const same = await call.availability(eventId, etag);
    assert.equal(same.statusCode, 304);
    assert.equal(same.body, '');
    assert.equal(same.headers.etag, etag);
    const listed = await call.seats(eventId);
    const listTag = String(listed.headers.etag);
    assert.ok(listTag.length > 2);
    const sameList = await call.seats(eventId, listTag);
    assert.equal(sameList.statusCode, 304);
    assert.equal(sameList.body, '');
    assert.equal((await call.availability(eventId, `"nope", ${etag}`)).statusCode, 304, 'a list of tags');

    // Another change: the old tags no longer match.
    await call.mustHold(bob, eventId, ['s3']);
    const changed = await call.availability(eventId, etag);
    assert.equal(changed.statusCode, 200);
    assert.notEqual(changed.headers.etag, etag);
    assert.equal(decodeAvailability(changed.json())[3], 'held');
    const changedList = await call.seats(eventId, listTag);
    assert.equal(changedList.statusCode, 200);
    assert.equal(changedList.json().seats[3].status, 'held');
  });

  test('when an event has 100,000 seats and a few hundred scattered holds, then its snapshot stays under 32 KB', async () => {
    const sections = Array.from({ length: 20 }, (_, section) => ({
      name: `S${section}`,
      price_tier: section % 2 ? 'back' : 'front',
      rows: Array.from({ length: 50 }, (_, row) => ({ label: String(row + 1), seats: 100 })),
    }));
    const eventId = await createEvent(t, { seat_map: { sections }, max_seats_per_user: 1000 }, startMs);
    const empty = await call.availability(eventId);
    assert.equal(empty.statusCode, 200);
    assert.equal(empty.json().seat_count, 100_000);
    assert.deepEqual(decodeAvailability(empty.json()), expected(100_000, {}));

    const random = seededRandom(20270110);
    const picked = new Set<number>();
    while (picked.size < 400) picked.add(random.int(100_000));
    const seatIds = random.shuffle([...picked].map((seatNo) => `s${seatNo}`));
    const holder = await t.token('many-seats');
    for (let start = 0; start < seatIds.length; start += 20) {
      await call.mustHold(holder, eventId, seatIds.slice(start, start + 20));
    }
    const response = await call.availability(eventId);
    assert.equal(response.statusCode, 200);
    const size = Buffer.byteLength(response.body);
    assert.ok(size < 32 * 1024, `the availability document is ${size} bytes`);
    const named = Object.fromEntries(seatIds.map((seatId): [string, Status] => [seatId, 'held']));
    assert.deepEqual(decodeAvailability(response.json()), expected(100_000, named));
    // The full list (10 MB) is not given for an event this large: the answer points here.
    const list = await call.seats(eventId);
    assert.equal(list.statusCode, 409, list.body);
    assert.equal(list.json().code, 'SEAT_LIST_TOO_LARGE');
    assert.equal(list.json().availability_url, `/v1/events/${eventId}/availability`);
  });

  test('when a hold ends, then the map shows it held until expires_at - 1 ms and available at expires_at, unswept', async () => {
    const eventId = await createEvent(t, {}, startMs);
    const heldAt = clock.nowMs();
    const response = await call.hold(bob, eventId, ['s17']);
    assert.equal(response.statusCode, 201);
    const expiresAtMs = Date.parse(response.json().expires_at);
    assert.equal(expiresAtMs, heldAt + 600_000);

    clock.set(expiresAtMs - 1);
    const before = await call.statuses(eventId);
    assert.deepEqual(before.statuses, expected(40, { s17: 'held' }));
    const beforeTag = String((await call.availability(eventId)).headers.etag);
    const beforeListTag = String((await call.seats(eventId)).headers.etag);
    assert.equal((await call.availability(eventId, beforeTag)).statusCode, 304);
    const taken = await call.hold(alice, eventId, ['s17']);
    assert.equal(taken.statusCode, 409);
    assert.equal(taken.json().code, 'SEAT_UNAVAILABLE');

    clock.set(expiresAtMs);
    const at = await call.statuses(eventId);
    assert.deepEqual(at.statuses, expected(40, {}));
    assert.equal((await call.availability(eventId, beforeTag)).statusCode, 200, 'a lapsed hold changes the ETag');
    assert.equal((await call.seats(eventId, beforeListTag)).statusCode, 200, 'a lapsed hold changes the ETag');
    // No sweeper ran: PostgreSQL still has the hold's columns set, the map shows it ended.
    const { rows } = await t.runtime.db.query<{ held: boolean }>(
      `SELECT hold_token IS NOT NULL AS held FROM seats WHERE event_id = $1 AND seat_no = 17`,
      [eventId],
    );
    assert.equal(rows[0]!.held, true, 'the hold was not swept');
    // ...and the seat is for sale at once.
    await call.mustHold(alice, eventId, ['s17']);
    assert.equal((await call.statuses(eventId)).statuses[17], 'held');
  });

  test('when a dead process left a gate pass on a seat, then holds of it get 409 until HOLD_GATE_PENDING_MS, then 201', async () => {
    const eventId = await createEvent(t, {}, startMs);
    const pendingMs = t.config.HOLD_GATE_PENDING_MS;
    assert.equal(pendingMs, 5_000);
    const takenAt = clock.nowMs();
    assert.deepEqual(await t.runtime.deps.board.tryHold(eventId, [5], 'dead-process', takenAt), { kind: 'passed' });
    assert.deepEqual(await t.runtime.deps.board.tryHold(eventId, [4, 5], 'someone-else', takenAt), {
      kind: 'conflict',
      seatNos: [5],
    });

    const refused = await call.hold(alice, eventId, ['s4', 's5']);
    assert.equal(refused.statusCode, 409, refused.body);
    assert.equal(refused.json().code, 'SEAT_UNAVAILABLE');
    assert.deepEqual(refused.json().conflicting_seat_ids, ['s5']);
    assert.deepEqual(await call.databaseStatuses(eventId), expected(40, {}), 'the gate wrote nothing');
    assert.equal((await call.statuses(eventId)).statuses[4], 'available');
    await call.mustHold(bob, eventId, ['s4']); // the refused request took nothing

    clock.set(takenAt + pendingMs - 1);
    const still = await call.hold(alice, eventId, ['s5']);
    assert.equal(still.statusCode, 409, still.body);
    assert.deepEqual(still.json().conflicting_seat_ids, ['s5']);

    clock.set(takenAt + pendingMs);
    await call.mustHold(alice, eventId, ['s5']);
    assert.deepEqual((await call.statuses(eventId)).statuses, expected(40, { s4: 'held', s5: 'held' }));
    assert.deepEqual(await call.databaseStatuses(eventId), expected(40, { s4: 'held', s5: 'held' }));
  });

  test('when PostgreSQL refuses a hold the gate passed (user over the limit), then the seat is given back at once', async () => {
    const eventId = await createEvent(t, { max_seats_per_user: 2 }, startMs);
    const carol = await t.token('carol');
    const dave = await t.token('dave');
    await call.mustHold(carol, eventId, ['s0', 's1']);
    const over = await call.hold(carol, eventId, ['s9', 's10']);
    assert.equal(over.statusCode, 409, over.body);
    assert.equal(over.json().code, 'USER_SEAT_LIMIT_EXCEEDED');
    // No clock movement: the gate must not still hold s9/s10 for carol's refused attempt.
    await call.mustHold(dave, eventId, ['s10', 's9']);
    assert.deepEqual(
      (await call.statuses(eventId)).statuses,
      expected(40, { s0: 'held', s1: 'held', s9: 'held', s10: 'held' }),
    );
  });
});

// ------------------------------------------------------------------ the live stream, in real time

describe('live seat map (SSE)', () => {
  let t: TestApp;
  let baseUrl: string;
  let call: ReturnType<typeof api>;
  let alice: string;
  let bob: string;

  before(async () => {
    t = await startTestApp({ env: { HOLD_TTL_SECONDS: '600' } });
    baseUrl = await t.app.listen({ port: 0, host: '127.0.0.1' });
    call = api(t);
    alice = await t.token('alice');
    bob = await t.token('bob');
  });
  after(async () => {
    closeAllStreams();
    await t.close();
  });

  const snapshotOf = (stream: SeatStream) =>
    stream.waitFor(() => stream.messages.some((m) => m.event === 'snapshot'), 3_000, 'a snapshot');

  test('when two clients watch one event, then each sees the other’s hold within a second', async () => {
    const eventId = await createEvent(t);
    const a = await mustOpen(baseUrl, eventId);
    const b = await mustOpen(baseUrl, eventId);
    try {
      await Promise.all([snapshotOf(a), snapshotOf(b)]);
      for (const stream of [a, b]) {
        assert.equal(stream.retry, 2000, 'the stream tells its retry first');
        assert.equal(stream.messages[0]!.event, 'snapshot');
        assert.deepEqual(stream.statuses, expected(40, {}));
      }
      const snapshot = JSON.parse(a.messages[0]!.data);
      assert.equal(snapshot.event_id, eventId);
      assert.equal(snapshot.seat_count, 40);

      await call.mustHold(alice, eventId, ['s7']);
      await b.waitFor(() => b.statusOf('s7') === 'held', 1_000, 'B to see s7 held');
      await a.waitFor(() => a.statusOf('s7') === 'held', 1_000, 'A to see s7 held');

      await call.mustHold(bob, eventId, ['s8']);
      await a.waitFor(() => a.statusOf('s8') === 'held', 1_000, 'A to see s8 held');
      await b.waitFor(() => b.statusOf('s8') === 'held', 1_000, 'B to see s8 held');

      const final = await call.statuses(eventId);
      for (const stream of [a, b]) {
        assert.deepEqual(stream.statuses, final.statuses);
        assert.equal(stream.version, final.version);
        assert.equal(stream.messages.filter((m) => m.event === 'snapshot').length, 1, 'one snapshot, then changes');
      }
    } finally {
      a.close();
      b.close();
    }
  });

  test('when a client opens the stream with the event id in capitals, then it sees the changes, made under any spelling, like everyone else', async () => {
    const eventId = await createEvent(t);
    const shouting = await mustOpen(baseUrl, eventId.toUpperCase());
    const mixed = await mustOpen(
      baseUrl,
      eventId.replace(/[a-f]/, (letter) => letter.toUpperCase()),
    );
    const plain = await mustOpen(baseUrl, eventId);
    try {
      await Promise.all([snapshotOf(shouting), snapshotOf(mixed), snapshotOf(plain)]);
      assert.equal(JSON.parse(shouting.messages[0]!.data).event_id, eventId, 'the event’s own id');
      await call.mustHold(alice, eventId, ['s3']);
      await call.mustHold(bob, eventId.toUpperCase(), ['s4']);
      for (const stream of [shouting, mixed, plain]) {
        await stream.waitFor(
          () => stream.statusOf('s3') === 'held' && stream.statusOf('s4') === 'held',
          3_000,
          'both holds on every stream',
        );
      }
      const final = await call.statuses(eventId);
      assert.deepEqual(shouting.statuses, final.statuses);
      assert.equal((await call.availability(eventId.toUpperCase())).json().event_id, eventId);
    } finally {
      shouting.close();
      mixed.close();
      plain.close();
    }
  });

  test('when many changes come at once, then they arrive coalesced into a few net messages', async () => {
    const eventId = await createEvent(t);
    const watcher = await mustOpen(baseUrl, eventId);
    try {
      await snapshotOf(watcher);
      const buyers = await Promise.all(Array.from({ length: 10 }, (_, index) => t.token(`burst-${index}`)));
      const reservations = await Promise.all(
        buyers.map((token, index) => call.mustHold(token, eventId, [`s${20 + index}`])),
      );
      await call.cancel(buyers[0]!, reservations[0]!);
      const final = await call.statuses(eventId);
      await watcher.waitFor(() => watcher.version === final.version, 3_000, 'the watcher to catch up');
      assert.deepEqual(watcher.statuses, final.statuses);
      const seatMessages = watcher.messages.filter((m) => m.event === 'seat').length;
      assert.ok(seatMessages < 11, `11 changes came as ${seatMessages} messages`);
    } finally {
      watcher.close();
    }
  });

  test('when a client reconnects with Last-Event-ID, then it gets only what it missed and ends where the database is', async () => {
    const eventId = await createEvent(t);
    const carol = await t.token('carol');
    // Another watcher keeps the event's channel (and its recent changes) open meanwhile.
    const keeper = await mustOpen(baseUrl, eventId);
    const client = await mustOpen(baseUrl, eventId);
    let resumed: SeatStream | undefined;
    try {
      await Promise.all([snapshotOf(keeper), snapshotOf(client)]);
      const aliceFirst = await call.mustHold(alice, eventId, ['s1']);
      const bobFirst = await call.mustHold(bob, eventId, ['s2', 's3']);
      await client.waitFor(() => client.statusOf('s3') === 'held', 2_000, 's3 held');
      const away = { statuses: client.statuses, version: client.version!, lastEventId: client.lastEventId! };
      client.close();

      // While it is away: holds, cancels and confirms.
      await call.confirm(alice, aliceFirst);
      await call.cancel(bob, bobFirst);
      const carolHold = await call.mustHold(carol, eventId, ['s2', 's10']);
      await call.mustHold(alice, eventId, ['s11']);
      await call.confirm(carol, carolHold);
      const bobSecond = await call.mustHold(bob, eventId, ['s3', 's12']);
      await call.cancel(bob, bobSecond);
      await call.mustHold(bob, eventId, ['s12']);

      resumed = await mustOpen(baseUrl, eventId, { 'last-event-id': away.lastEventId }, away);
      const expectedNow = expected(40, {
        s1: 'booked',
        s2: 'booked',
        s10: 'booked',
        s11: 'held',
        s12: 'held',
      });
      const stream = resumed;
      await stream.waitFor(
        () => JSON.stringify(stream.statuses) === JSON.stringify(expectedNow),
        3_000,
        'the resumed client to catch up',
      );
      assert.equal(stream.retry, 2000);
      assert.ok(stream.messages.length > 0);
      assert.ok(
        stream.messages.every((m) => m.event === 'seat'),
        `a resume sends changes, no snapshot: ${JSON.stringify(stream.messages)}`,
      );
      assert.ok(Number(stream.messages[0]!.id) > away.version);

      // A quiet spell, then the client, the map and PostgreSQL agree.
      await sleep(400);
      const map = await call.statuses(eventId);
      assert.equal(stream.version, map.version);
      assert.deepEqual(stream.statuses, map.statuses);
      assert.deepEqual(map.statuses, expectedNow);
      assert.deepEqual(await call.databaseStatuses(eventId), expectedNow);
      assert.deepEqual(keeper.statuses, expectedNow);
    } finally {
      keeper.close();
      client.close();
      resumed?.close();
    }
  });

  test('when the last client left and it reconnects with an old Last-Event-ID, then it gets a snapshot of now', async () => {
    const eventId = await createEvent(t);
    const client = await mustOpen(baseUrl, eventId);
    await snapshotOf(client);
    const first = await call.mustHold(alice, eventId, ['s4']);
    await client.waitFor(() => client.statusOf('s4') === 'held', 2_000, 's4 held');
    const away = { statuses: client.statuses, version: client.version!, lastEventId: client.lastEventId! };
    client.close();
    await eventually(async () => (await liveClients(t)) === 0, 2_000, 'the server to drop the client');

    await call.cancel(alice, first);
    await call.confirm(bob, await call.mustHold(bob, eventId, ['s5']));
    const resumed = await mustOpen(baseUrl, eventId, { 'last-event-id': away.lastEventId }, away);
    try {
      await snapshotOf(resumed);
      assert.equal(resumed.messages[0]!.event, 'snapshot');
      await sleep(300);
      const map = await call.statuses(eventId);
      assert.deepEqual(resumed.statuses, expected(40, { s5: 'booked' }));
      assert.deepEqual(resumed.statuses, map.statuses);
      assert.equal(resumed.version, map.version);
      assert.deepEqual(await call.databaseStatuses(eventId), map.statuses);
    } finally {
      resumed.close();
    }
  });

  test('when Last-Event-ID is the current version, then nothing is resent and later changes come as seat messages', async () => {
    const eventId = await createEvent(t);
    await call.mustHold(alice, eventId, ['s6']);
    const map = await call.statuses(eventId);
    const client = await mustOpen(
      baseUrl,
      eventId,
      { 'last-event-id': String(map.version) },
      {
        statuses: map.statuses,
        version: map.version,
        lastEventId: String(map.version),
      },
    );
    try {
      await sleep(300);
      assert.equal(client.messages.length, 0, `up to date, nothing to send: ${JSON.stringify(client.messages)}`);
      assert.equal(client.retry, 2000);
      await call.mustHold(bob, eventId, ['s9']);
      await client.waitFor(() => client.statusOf('s9') === 'held', 1_000, 's9 held');
      assert.deepEqual(
        client.messages.map((m) => m.event),
        ['seat'],
      );
      assert.deepEqual(JSON.parse(client.messages[0]!.data).changes, [{ seat_id: 's9', status: 'held' }]);
    } finally {
      client.close();
    }
  });

  test('when Last-Event-ID is garbage or from the future, then the client gets a snapshot', async () => {
    const eventId = await createEvent(t);
    // A watcher keeps the channel open with changes in its recent history, so the answer
    // is not a snapshot merely because the server has nothing to resume from.
    const keeper = await mustOpen(baseUrl, eventId);
    try {
      await snapshotOf(keeper);
      await call.mustHold(alice, eventId, ['s3']);
      await call.mustHold(bob, eventId, ['s4']);
      const map = await call.statuses(eventId);
      await keeper.waitFor(() => keeper.version === map.version, 3_000, 'the keeper to catch up');
      for (const lastEventId of [
        'garbage',
        '-1',
        '12.5',
        '1e3',
        String(map.version + 1),
        '9999999999999999',
        '99999999999999999999',
      ]) {
        const client = await mustOpen(baseUrl, eventId, { 'last-event-id': lastEventId });
        try {
          await snapshotOf(client);
          assert.equal(client.messages[0]!.event, 'snapshot', lastEventId);
          assert.equal(client.messages[0]!.id, String(map.version), lastEventId);
          assert.deepEqual(client.statuses, map.statuses, lastEventId);
        } finally {
          client.close();
        }
      }
    } finally {
      keeper.close();
    }
  });

  test('when the event is unknown, then the stream answers 404 problem+json', async () => {
    for (const eventId of ['00000000-0000-0000-0000-000000000000', 'not-a-uuid']) {
      const answer = await openStream(baseUrl, eventId);
      assert.equal(answer.statusCode, 404, eventId);
      assert.match(String(answer.headers['content-type']), /^application\/problem\+json/);
      const problem = JSON.parse(answer.body!);
      assert.equal(problem.status, 404);
      assert.equal(problem.code, 'EVENT_NOT_FOUND');
    }
    await eventually(async () => (await liveClients(t)) === 0, 2_000, 'no stream counted for a refused one');
  });
});

describe('live seat map limits', () => {
  test('when SSE_MAX_SUBSCRIBERS streams are open, then another is 503 with Retry-After until one closes', async () => {
    const t = await startTestApp({ env: { SSE_MAX_SUBSCRIBERS: '1' } });
    try {
      const baseUrl = await t.app.listen({ port: 0, host: '127.0.0.1' });
      const eventId = await createEvent(t);
      const missing = await openStream(baseUrl, '00000000-0000-0000-0000-000000000000');
      assert.equal(missing.statusCode, 404, 'an unknown event does not use up the one slot');
      const first = await mustOpen(baseUrl, eventId);
      await first.waitFor(() => first.messages.length > 0, 3_000, 'a snapshot');
      const second = await openStream(baseUrl, eventId);
      assert.equal(second.statusCode, 503, second.body);
      assert.ok(Number(second.headers['retry-after']) > 0, 'Retry-After');
      assert.match(String(second.headers['content-type']), /^application\/problem\+json/);
      assert.equal(JSON.parse(second.body!).code, 'TOO_MANY_SUBSCRIBERS');
      assert.ok(!first.ended, 'the open stream is left alone');

      first.close();
      await eventually(async () => (await liveClients(t)) === 0, 2_000, 'the slot to be given back');
      const third = await mustOpen(baseUrl, eventId);
      await third.waitFor(() => third.messages.length > 0, 3_000, 'a snapshot');
      third.close();
    } finally {
      closeAllStreams();
      await t.close();
    }
  });

  test('when the server has forgotten the changes since Last-Event-ID, then the client gets a snapshot', async () => {
    const t = await startTestApp({ env: { SEAT_CHANGE_LOG_MAX: '2' } });
    try {
      const baseUrl = await t.app.listen({ port: 0, host: '127.0.0.1' });
      const call = api(t);
      const eventId = await createEvent(t);
      const buyer = await t.token('buyer');
      const keeper = await mustOpen(baseUrl, eventId);
      const client = await mustOpen(baseUrl, eventId);
      await client.waitFor(() => client.messages.length > 0, 3_000, 'a snapshot');
      const away = { statuses: client.statuses, version: client.version!, lastEventId: client.lastEventId! };
      client.close();
      for (let seatNo = 0; seatNo < 5; seatNo += 1) await call.mustHold(buyer, eventId, [`s${seatNo}`]);
      const map = await call.statuses(eventId);
      await keeper.waitFor(() => keeper.version === map.version, 3_000, 'the keeper to catch up');

      const resumed = await mustOpen(baseUrl, eventId, { 'last-event-id': away.lastEventId }, away);
      await resumed.waitFor(() => resumed.messages.length > 0, 3_000, 'a message');
      assert.equal(resumed.messages[0]!.event, 'snapshot');
      assert.deepEqual(resumed.statuses, map.statuses);
      assert.deepEqual(resumed.statuses, expected(40, { s0: 'held', s1: 'held', s2: 'held', s3: 'held', s4: 'held' }));
    } finally {
      closeAllStreams();
      await t.close();
    }
  });
});

// A re-hold of a seat whose earlier hold lapsed unswept is a visible change (available ->
// held): it must move the version, the ETag and reach watchers (found by review; it once
// kept the old version, so /seats served a stale cached list).
describe('lapsed holds on the live map', () => {
  test('when a lapsed hold is re-held, then the map version grows, ETags differ and watchers see it', async () => {
    const clock = new ManualClock(Date.now());
    const t = await startTestApp({ clock, env: { HOLD_TTL_SECONDS: '60' } });
    try {
      const baseUrl = await t.app.listen({ port: 0, host: '127.0.0.1' });
      const call = api(t);
      const eventId = await createEvent(t, {}, clock.nowMs());
      const t0 = clock.nowMs();
      await call.mustHold(await t.token('first'), eventId, ['s1']);
      clock.set(t0 + 10_000);
      await call.mustHold(await t.token('second'), eventId, ['s2']);
      clock.set(t0 + 60_000); // s1 has lapsed (no sweeper), s2 is held
      const before = await call.statuses(eventId);
      assert.deepEqual(before.statuses, expected(40, { s2: 'held' }));
      const beforeTag = String((await call.availability(eventId)).headers.etag);
      const stream = await mustOpen(baseUrl, eventId);
      try {
        await stream.waitFor(() => stream.messages.length > 0, 3_000, 'a snapshot');
        assert.equal(stream.statusOf('s1'), 'available');
        await call.mustHold(await t.token('third'), eventId, ['s1']);
        await stream.waitFor(() => stream.statusOf('s1') === 'held', 1_000, 'the watcher to see s1 held again');
        const rehold = await call.statuses(eventId);
        assert.ok(rehold.version > before.version, 'a visible change moves the version on');
        clock.set(t0 + 70_000); // s2 lapses: s1 held, s2 available
        assert.notEqual((await call.availability(eventId, beforeTag)).statusCode, 304, 'another map, another ETag');
        assert.deepEqual((await call.statuses(eventId)).statuses, expected(40, { s1: 'held' }));
      } finally {
        stream.close();
      }
    } finally {
      closeAllStreams();
      await t.close();
    }
  });
});
