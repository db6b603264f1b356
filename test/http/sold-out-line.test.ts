// The line tells the truth: when every seat is booked, the people waiting are told
// "sold out" on their streams at once and nobody is let in; when seats come back (a
// refund), the line moves again. And the organizer pauses and resumes admission live.
// Real HTTP streams (500 waiting buyers), both databases; with Redis the change that wakes
// the line comes through the board's change feed, as it would from another process.
import assert from 'node:assert/strict';
import { request as httpRequest, type ClientRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { ManualClock } from '../../src/adapters/clock/system-clock.ts';
import { admitDue } from '../../src/app/waiting-room.ts';
import { burstOf } from '../../src/domain/waiting-room.ts';
import { auth, confirmReservation, createEvent, startTestApp, type TestApp } from '../support/harness.ts';

const startMs = Date.parse('2027-01-10T15:00:00Z');
const room = { enabled: true, admit_per_minute: 60, admission_window_seconds: 300 };
const waitersCount = 500;
/** The bar: every waiting client hears "sold out" within 2 s of the last booking. */
const pushedWithinMs = 2_000;

interface QueueMessage {
  status: string;
  paused: boolean;
  position: number | null;
  estimated_wait_seconds: number | null;
}

describe('the line at sell-out and under pause', () => {
  let t: TestApp;
  let clock: ManualClock;
  let organizer: string;
  let port: number;

  before(async () => {
    clock = new ManualClock(startMs);
    t = await startTestApp({
      clock,
      env: {
        ADMIT_TICK_MS: '1000',
        // A long interval: what reaches the clients in time is the push on a seat change.
        QUEUE_STREAM_INTERVAL_MS: '30000',
        SSE_STREAMS_PER_ADDRESS_MAX: String(waitersCount + 10),
        RATE_LIMITS: 'off',
      },
    });
    organizer = await t.token('organizer-1', 'organizer');
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });
  after(() => t.close());

  /** Ticks every room (the count it returns is every room's: tests count their own). */
  const admitter = () => admitDue(t.runtime.deps, t.runtime.deps.settings.admitter);
  const waiting = (eventId: string) => t.runtime.deps.waitingRoom.waitingCount(eventId);
  const join = async (eventId: string, user: string) => {
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/events/${eventId}/queue`,
      headers: auth(await t.token(user)),
    });
    assert.equal(response.statusCode, 200, response.body);
    return response.json() as QueueMessage;
  };
  const me = async (eventId: string, user: string) =>
    (
      await t.app.inject({
        method: 'GET',
        url: `/v1/events/${eventId}/queue/me`,
        headers: auth(await t.token(user)),
      })
    ).json() as QueueMessage & { admission_token?: string };
  const patchRoom = async (eventId: string, settings: Record<string, unknown>) => {
    const response = await t.app.inject({
      method: 'PATCH',
      url: `/v1/events/${eventId}`,
      headers: auth(organizer),
      payload: { waiting_room: { enabled: true, ...settings } },
    });
    assert.equal(response.statusCode, 200, response.body);
  };
  /** Ticks the admitter a minute of the clock at a time, up to the limit; the admission token. */
  const admittedToken = async (eventId: string, user: string, ticks = 5) => {
    for (let tick = 0; tick < ticks; tick += 1) {
      const state = await me(eventId, user);
      if (state.status === 'admitted') return state.admission_token!;
      clock.advance(60_000);
      await admitter();
    }
    return (await me(eventId, user)).admission_token ?? null;
  };

  /** A buyer's queue stream over HTTP: every `queue` message, in order. */
  const watch = async (eventId: string, user: string) => {
    const messages: QueueMessage[] = [];
    const token = await t.token(user);
    let request: ClientRequest;
    const opened = new Promise<void>((resolve, reject) => {
      request = httpRequest({
        host: '127.0.0.1',
        port,
        path: `/v1/events/${eventId}/queue/stream`,
        headers: { accept: 'text/event-stream', ...auth(token) },
      });
      request.on('error', reject);
      request.on('response', (answer) => {
        if (answer.statusCode !== 200) reject(new Error(`${user}: stream answered ${answer.statusCode}`));
        answer.setEncoding('utf8');
        let buffer = '';
        answer.on('data', (chunk: string) => {
          buffer += chunk;
          let end;
          while ((end = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const data = /^data: (.*)$/m.exec(block);
            if (/^event: queue$/m.test(block) && data) {
              messages.push(JSON.parse(data[1]!));
              if (messages.length === 1) resolve();
            }
          }
        });
      });
      request.end();
    });
    await opened;
    return { messages, last: () => messages.at(-1)!, close: () => request.destroy() };
  };

  const waitUntil = async (what: string, check: () => boolean, limitMs: number) => {
    const startedAt = performance.now();
    while (!check() && performance.now() - startedAt < limitMs) await new Promise((r) => setTimeout(r, 10));
    assert.ok(check(), what);
    return performance.now() - startedAt;
  };

  test(`when the last seat is booked while ${waitersCount} people wait, then every stream says sold_out at once, nobody is admitted, and a refund lets the line move again`, async () => {
    const eventId = await createEvent(
      t,
      {
        waiting_room: room,
        seat_map: { sections: [{ name: 'A', price_tier: 'front', rows: [{ label: '1', seats: 4 }] }] },
      },
      startMs,
    );
    await join(eventId, 'shopper');
    const token = await admittedToken(eventId, 'shopper');
    assert.ok(token, 'the shopper is admitted');
    const waiters = Array.from({ length: waitersCount }, (_, index) => `waiter-${index}`);
    for (const user of waiters) assert.equal((await join(eventId, user)).status, 'waiting');
    const streams = await Promise.all(waiters.map((user) => watch(eventId, user)));
    try {
      for (const stream of streams) assert.equal(stream.last().status, 'waiting');

      // The shopper buys every seat.
      const held = await t.app.inject({
        method: 'POST',
        url: `/v1/events/${eventId}/reservations`,
        headers: { ...auth(await t.token('shopper')), 'x-admission-token': token },
        payload: { seat_ids: ['s0', 's1', 's2', 's3'] },
      });
      assert.equal(held.statusCode, 201, held.body);
      // Held seats may come back: not sold out yet.
      assert.equal((await me(eventId, 'waiter-0')).status, 'waiting');
      const paid = await t.app.inject({
        method: 'POST',
        url: `/v1/reservations/${held.json().reservation_id}/confirm`,
        headers: { ...auth(await t.token('shopper')), 'idempotency-key': 'all-of-it', 'x-admission-token': token },
        payload: { payment_method: 'pm_card_visa' },
      });
      assert.equal(paid.statusCode, 201, paid.body);
      const pushMs = await waitUntil(
        'every waiting stream says sold_out',
        () => streams.every((stream) => stream.last().status === 'sold_out'),
        pushedWithinMs,
      );
      process.stdout.write(`# sold_out reached ${waitersCount} streams ${Math.round(pushMs)} ms after the booking\n`);
      const told = streams[0]!.last();
      assert.equal(told.position, 1, 'the place is kept');
      assert.equal(told.estimated_wait_seconds, null, 'no estimate while nothing is for sale');
      assert.equal((await join(eventId, 'late-comer')).status, 'sold_out', 'a newcomer is told at once');

      const inLine = await waiting(eventId);
      assert.equal(inLine, waitersCount + 1);
      for (let tick = 0; tick < 3; tick += 1) {
        clock.advance(60_000);
        await admitter();
        assert.equal(await waiting(eventId), inLine, 'nobody is let into a shop with nothing to sell');
      }

      // The organizer refunds one seat: it is on sale again, and the line moves.
      const refunded = await t.app.inject({
        method: 'POST',
        url: `/v1/bookings/${paid.json().booking_id}/refund`,
        headers: auth(organizer),
        payload: { seat_ids: ['s2'], reason: 'returned to sale' },
      });
      assert.equal(refunded.statusCode, 200, refunded.body);
      await waitUntil(
        'every stream is back to waiting',
        () => streams.every((stream) => stream.last().status === 'waiting'),
        pushedWithinMs,
      );
      clock.advance(60_000);
      await admitter();
      assert.ok((await waiting(eventId)) < inLine, 'admission resumes');
      assert.equal((await me(eventId, 'waiter-0')).status, 'admitted', 'the first in line goes in first');
    } finally {
      for (const stream of streams) stream.close();
    }
  });

  test('when the organizer pauses the line, then nobody is admitted and buyers are told; resuming admits at the set rate', async () => {
    const eventId = await createEvent(t, { waiting_room: room }, startMs);
    await join(eventId, 'paused-first');
    await join(eventId, 'paused-second');
    await patchRoom(eventId, { paused: true });
    const stream = await watch(eventId, 'paused-second');
    try {
      assert.deepEqual(
        { paused: stream.last().paused, wait: stream.last().estimated_wait_seconds, status: stream.last().status },
        { paused: true, wait: null, status: 'waiting' },
      );
      for (let tick = 0; tick < 5; tick += 1) {
        clock.advance(60_000);
        await admitter();
        assert.equal(await waiting(eventId), 2, 'paused: nobody goes in');
      }
      assert.equal((await me(eventId, 'paused-first')).status, 'waiting');

      await patchRoom(eventId, { paused: false });
      // The meter filled while paused only to its burst: one tick admits at most that.
      const burst = burstOf(room.admit_per_minute, t.runtime.deps.settings.admitter.tickMs);
      await admitter();
      assert.ok(2 - (await waiting(eventId)) <= Math.floor(burst), 'no flood on resume');
      assert.equal((await me(eventId, 'paused-first')).status, 'admitted');
      const resumed = await me(eventId, 'paused-second');
      assert.equal(resumed.paused, false);
      assert.equal(typeof resumed.estimated_wait_seconds, 'number');
    } finally {
      stream.close();
    }
  });

  test('when the rate is changed during the sale, then the next ticks admit at the new rate', async () => {
    const eventId = await createEvent(t, { waiting_room: { ...room, admit_per_minute: 60 } }, startMs);
    for (let index = 0; index < 40; index += 1) await join(eventId, `rate-${index}`);
    await admitter(); // the meter's first fill: its burst
    let before = await waiting(eventId);
    clock.advance(1_000);
    await admitter();
    assert.ok(before - (await waiting(eventId)) <= 2, 'at 60 a minute: about one a second');
    await patchRoom(eventId, { admit_per_minute: 600 });
    before = await waiting(eventId);
    for (let tick = 0; tick < 3; tick += 1) {
      clock.advance(1_000);
      await admitter();
    }
    const admitted = before - (await waiting(eventId));
    assert.ok(admitted >= 20 && admitted <= 36, `at 600 a minute: about 10 a second (admitted ${admitted} in 3 s)`);
  });
});
