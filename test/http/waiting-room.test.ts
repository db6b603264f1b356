// The waiting room over HTTP: settings, joining, admission, and the admission token that
// holds and payments need (DESIGN.md: "With the waiting room on … else 403 ADMISSION_REQUIRED").
import assert from 'node:assert/strict';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { ManualClock } from '../../src/adapters/clock/system-clock.ts';
import { admitDue } from '../../src/app/waiting-room.ts';
import { JoseAdmissionTokens } from '../../src/adapters/tokens/jose-admission-tokens.ts';
import { auth, createEvent, startTestApp, type TestApp } from '../support/harness.ts';

const startMs = Date.parse('2027-01-10T15:00:00Z');
const room = { enabled: true, admit_per_minute: 60, admission_window_seconds: 300 };

describe('waiting room over HTTP', () => {
  let t: TestApp;
  let clock: ManualClock;
  let eventId: string;
  let otherEventId: string;
  let organizer: string;

  before(async () => {
    clock = new ManualClock(startMs);
    t = await startTestApp({ clock, env: { ADMIT_TICK_MS: '1000', QUEUE_STREAM_INTERVAL_MS: '100' } });
    organizer = await t.token('organizer-1', 'organizer');
    eventId = await createEvent(t, { waiting_room: room }, startMs);
    otherEventId = await createEvent(t, { waiting_room: room }, startMs);
  });
  after(() => t.close());

  const admitter = () => admitDue(t.runtime.deps, t.runtime.deps.settings.admitter);
  const join = async (user: string, event = eventId) =>
    t.app.inject({ method: 'POST', url: `/v1/events/${event}/queue`, headers: auth(await t.token(user)) });
  const me = async (user: string, event = eventId) =>
    t.app.inject({ method: 'GET', url: `/v1/events/${event}/queue/me`, headers: auth(await t.token(user)) });
  const seatIds = async (event = eventId) =>
    (await t.app.inject({ method: 'GET', url: `/v1/events/${event}/seats` }))
      .json()
      .seats.map((seat: { seat_id: string }) => seat.seat_id) as string[];
  const hold = async (user: string, seatId: string, token?: string, event = eventId) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/events/${event}/reservations`,
      headers: { ...auth(await t.token(user)), ...(token === undefined ? {} : { 'x-admission-token': token }) },
      payload: { seat_ids: [seatId] },
    });
  /** Joins, lets the admitter run until the user is in, and returns the admission token. */
  const admitted = async (user: string, event = eventId): Promise<string> => {
    assert.equal((await join(user, event)).statusCode, 200);
    for (let tick = 0; tick < 100; tick += 1) {
      const status = (await me(user, event)).json();
      if (status.status === 'admitted') return status.admission_token;
      clock.advance(1_000);
      await admitter();
    }
    throw new Error(`${user} was never admitted`);
  };

  test('when an organizer sets a waiting room, then the event shows it and PATCH changes it', async () => {
    const detail = (await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}` })).json();
    assert.deepEqual(detail.waiting_room, {
      enabled: true,
      admit_per_minute: 60,
      max_active_shoppers: null,
      admission_window_seconds: 300,
      paused: false,
      challenge: false,
    });
    const patched = await t.app.inject({
      method: 'PATCH',
      url: `/v1/events/${otherEventId}`,
      headers: auth(organizer),
      payload: { waiting_room: { enabled: true, max_active_shoppers: 50 } },
    });
    assert.equal(patched.statusCode, 200, patched.body);
    assert.deepEqual(patched.json().waiting_room, {
      enabled: true,
      admit_per_minute: 60,
      max_active_shoppers: 50,
      admission_window_seconds: 300,
      paused: false,
      challenge: false,
    });
    const plain = (
      await t.app.inject({ method: 'GET', url: `/v1/events/${await createEvent(t, {}, startMs)}` })
    ).json();
    assert.equal(plain.waiting_room.enabled, false);
  });

  test('when settings are bad or the caller is not the owner, then 4xx and nothing changes', async () => {
    for (const waiting_room of [
      { enabled: 'yes' },
      { admit_per_minute: 10 },
      { enabled: true, admit_per_minute: 0 },
      { enabled: true, admission_window_seconds: 5 },
      { enabled: true, max_active_shoppers: -1 },
      { enabled: true, surprise: 1 },
    ]) {
      const response = await t.app.inject({
        method: 'PATCH',
        url: `/v1/events/${eventId}`,
        headers: auth(organizer),
        payload: { waiting_room },
      });
      assert.equal(response.statusCode, 400, JSON.stringify(waiting_room));
      assert.equal(response.json().code, 'VALIDATION_FAILED');
    }
    const stranger = await t.app.inject({
      method: 'PATCH',
      url: `/v1/events/${eventId}`,
      headers: auth(await t.token('organizer-2', 'organizer')),
      payload: { waiting_room: { enabled: false } },
    });
    assert.equal(stranger.statusCode, 404);
    const detail = (await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}` })).json();
    assert.equal(detail.waiting_room.admit_per_minute, 60);
    assert.equal(detail.waiting_room.enabled, true);
  });

  test('when a buyer joins twice, then they keep their place; GET …/queue/me says the same', async () => {
    const first = await join('queue-a');
    assert.equal(first.statusCode, 200, first.body);
    const second = await join('queue-b');
    assert.equal(second.json().position, first.json().position + 1);
    const again = await join('queue-a');
    assert.equal(again.json().position, first.json().position);
    assert.equal(again.json().status, 'waiting');
    assert.ok(again.json().estimated_wait_seconds > 0);
    const status = await me('queue-b');
    assert.equal(status.statusCode, 200);
    assert.equal(status.json().position, second.json().position);
    assert.equal(status.json().ahead, second.json().position - 1);
    assert.equal(status.json().admission_token, undefined);
  });

  test('when the admitter ticks a room on Redis, then its keys expire a day after the event starts', async (context) => {
    if (!t.config.REDIS_URL) return context.skip('the in-process room goes with the process');
    await join('retained');
    await admitter();
    const redis = new Redis(t.config.REDIS_URL);
    try {
      const expiresAtMs = await redis.pexpiretime(`${t.config.REDIS_KEY_PREFIX}{${eventId}}:queue`);
      const startsAtMs = Date.parse(
        (await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}` })).json().starts_at,
      );
      assert.equal(expiresAtMs, startsAtMs + 24 * 3_600_000);
    } finally {
      redis.disconnect();
    }
  });

  test('when someone never joined or the event has no room, then 404 / 409 problem documents', async () => {
    const never = await me('never-joined');
    assert.equal(never.statusCode, 404);
    assert.equal(never.json().code, 'QUEUE_NOT_JOINED');
    const plain = await createEvent(t, {}, startMs);
    const noRoom = await join('queue-a', plain);
    assert.equal(noRoom.statusCode, 409);
    assert.equal(noRoom.json().code, 'WAITING_ROOM_OFF');
    const missing = await join('queue-a', '00000000-0000-4000-8000-000000000000');
    assert.equal(missing.statusCode, 404);
    const anonymous = await t.app.inject({ method: 'POST', url: `/v1/events/${eventId}/queue` });
    assert.equal(anonymous.statusCode, 401);
  });

  test('when the waiting room is on, then a hold without a valid admission token is 403 ADMISSION_REQUIRED', async () => {
    const [seat] = await seatIds();
    const token = await admitted('token-owner');
    const otherEventToken = await admitted('token-owner', otherEventId);
    const forger = new JoseAdmissionTokens('not-the-server-secret-0123456789abcdef');
    const forged = await forger.sign({ userId: 'token-owner', eventId, expiresAtMs: startMs + 3_600_000 });
    const cases: [string, string, string | undefined][] = [
      ['no token', 'token-owner', undefined],
      ['garbage', 'token-owner', 'not-a-token'],
      ['forged', 'token-owner', forged],
      ["other user's", 'someone-else', token],
      ["other event's", 'token-owner', otherEventToken],
    ];
    for (const [name, user, given] of cases) {
      const response = await hold(user, seat!, given);
      assert.equal(response.statusCode, 403, name);
      assert.equal(response.json().code, 'ADMISSION_REQUIRED', name);
    }
    const counts = (await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}` })).json().counts;
    assert.equal(counts.held, 0, 'refused holds change nothing');

    const ok = await hold('token-owner', seat!, token);
    assert.equal(ok.statusCode, 201, ok.body);
    const reservationId = ok.json().reservation_id;
    const confirmWith = async (admission?: string) =>
      t.app.inject({
        method: 'POST',
        url: `/v1/reservations/${reservationId}/confirm`,
        headers: {
          ...auth(await t.token('token-owner')),
          'idempotency-key': `pay-${admission ? 'with' : 'without'}`,
          ...(admission ? { 'x-admission-token': admission } : {}),
        },
        payload: { payment_method: 'pm_card_visa' },
      });
    const unadmitted = await confirmWith();
    assert.equal(unadmitted.statusCode, 403);
    assert.equal(unadmitted.json().code, 'ADMISSION_REQUIRED');
    const paid = await confirmWith(token);
    assert.equal(paid.statusCode, 201, paid.body);
  });

  test('when the admission window passes, then the token stops working and the buyer may join again at the back', async () => {
    const [, seat] = await seatIds();
    const token = await admitted('slowpoke');
    await join('in-line-meanwhile');
    clock.advance(300_000); // the whole window
    const status = (await me('slowpoke')).json();
    assert.equal(status.status, 'expired');
    const late = await hold('slowpoke', seat!, token);
    assert.equal(late.statusCode, 403);
    assert.equal(late.json().code, 'ADMISSION_REQUIRED');
    const rejoined = (await join('slowpoke')).json();
    assert.equal(rejoined.status, 'waiting');
    const other = (await me('in-line-meanwhile')).json();
    assert.ok(rejoined.position > other.position, 'back of the line');
  });

  test('when a buyer watches the stream, then it pushes position changes and the admission with its token', async () => {
    const watched = await createEvent(t, { waiting_room: { ...room, admit_per_minute: 1 } }, startMs);
    await join('stream-first', watched);
    const joined = (await join('stream-watcher', watched)).json();
    assert.equal(joined.position, 2);
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = t.app.server.address() as AddressInfo;
    const token = await t.token('stream-watcher');
    const messages: { status: string; position: number | null; admission_token?: string }[] = [];
    let response: IncomingMessage | undefined;
    const request = httpRequest({
      host: '127.0.0.1',
      port,
      path: `/v1/events/${watched}/queue/stream`,
      headers: { accept: 'text/event-stream', ...auth(token) },
    });
    let buffer = '';
    request.on('response', (answer) => {
      response = answer;
      answer.setEncoding('utf8');
      answer.on('data', (chunk: string) => {
        buffer += chunk;
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^data: (.*)$/m.exec(block);
          if (/^event: queue$/m.test(block) && data) messages.push(JSON.parse(data[1]!));
        }
      });
    });
    request.end();
    const waitFor = async (what: string, check: () => boolean) => {
      for (let attempt = 0; attempt < 100 && !check(); attempt += 1) await new Promise((r) => setTimeout(r, 50));
      assert.ok(check(), `${what}: ${JSON.stringify(messages)}`);
    };
    try {
      await waitFor('the current place at once', () => messages.length >= 1);
      assert.equal(response!.statusCode, 200);
      assert.match(String(response!.headers['content-type']), /^text\/event-stream/);
      assert.equal(messages[0]!.status, 'waiting');
      assert.equal(messages[0]!.position, 2);

      await admitter(); // the meter starts with one place: stream-first goes in
      await waitFor('the new position', () => messages.some((m) => m.position === 1));
      clock.advance(60_000); // one more place at 1 per minute
      await admitter();
      await waitFor('the admission', () => messages.some((m) => m.status === 'admitted'));
      const admission = messages.find((m) => m.status === 'admitted')!;
      const [seat] = await seatIds(watched);
      const held = await hold('stream-watcher', seat!, admission.admission_token, watched);
      assert.equal(held.statusCode, 201, held.body);
    } finally {
      request.destroy();
    }
    const unjoined = await t.app.inject({
      method: 'GET',
      url: `/v1/events/${watched}/queue/stream`,
      headers: auth(await t.token('not-in-line')),
    });
    assert.equal(unjoined.statusCode, 404);
    assert.equal(unjoined.json().code, 'QUEUE_NOT_JOINED');
  });

  test('when the shopper cap is full, then the next buyer waits until a shopper pays', async () => {
    const capped = await createEvent(
      t,
      { waiting_room: { ...room, admit_per_minute: 600, max_active_shoppers: 1 } },
      startMs,
    );
    const token = await admitted('capped-first', capped);
    await join('capped-second', capped);
    for (let tick = 0; tick < 5; tick += 1) {
      clock.advance(1_000);
      await admitter();
    }
    assert.equal((await me('capped-second', capped)).json().status, 'waiting', 'the cap holds');
    const [seat] = await seatIds(capped);
    const held = await hold('capped-first', seat!, token, capped);
    assert.equal(held.statusCode, 201, held.body);
    const paid = await t.app.inject({
      method: 'POST',
      url: `/v1/reservations/${held.json().reservation_id}/confirm`,
      headers: { ...auth(await t.token('capped-first')), 'idempotency-key': 'capped', 'x-admission-token': token },
      payload: { payment_method: 'pm_card_visa' },
    });
    assert.equal(paid.statusCode, 201, paid.body);
    clock.advance(1_000);
    await admitter();
    assert.equal((await me('capped-second', capped)).json().status, 'admitted', 'the paid shopper made room');
  });

  const pay = async (user: string, reservationId: string, key: string, token: string) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/reservations/${reservationId}/confirm`,
      headers: { ...auth(await t.token(user)), 'idempotency-key': key, 'x-admission-token': token },
      payload: { payment_method: 'pm_card_visa' },
    });

  test('when a shopper has paid and left the admitted set, then their old token no longer holds or pays', async () => {
    const capped = await createEvent(
      t,
      { waiting_room: { ...room, admit_per_minute: 600, max_active_shoppers: 1 } },
      startMs,
    );
    const token = await admitted('done-shopper', capped);
    const [first, second, third] = await seatIds(capped);
    const kept = await hold('done-shopper', first!, token, capped);
    const other = await hold('done-shopper', second!, token, capped);
    assert.equal(kept.statusCode, 201, kept.body);
    assert.equal(other.statusCode, 201, other.body);
    const paidFirst = await pay('done-shopper', kept.json().reservation_id, 'done-1', token);
    assert.equal(paidFirst.statusCode, 201, paidFirst.body);
    // Still holding other seats: still shopping, and may pay for them.
    assert.equal((await me('done-shopper', capped)).json().status, 'admitted');
    const paidSecond = await pay('done-shopper', other.json().reservation_id, 'done-2', token);
    assert.equal(paidSecond.statusCode, 201, paidSecond.body);
    // Nothing held any more: done. The next in line gets the place; the old token is spent.
    const next = await join('next-shopper', capped);
    assert.equal(next.statusCode, 200);
    clock.advance(1_000);
    await admitter();
    assert.equal((await me('next-shopper', capped)).json().status, 'admitted');
    const again = await hold('done-shopper', third!, token, capped);
    assert.equal(again.statusCode, 403, again.body);
    assert.equal(again.json().code, 'ADMISSION_REQUIRED');
  });

  test('when the sale has not opened, then joiners wait without a position and nobody is admitted', async () => {
    const future = await createEvent(
      t,
      { waiting_room: room, sale_opens_at: new Date(startMs + 3_600_000).toISOString() },
      startMs,
    );
    const early = (await join('early-bird', future)).json();
    assert.equal(early.status, 'waiting');
    assert.equal(early.position, null);
    assert.equal(early.estimated_wait_seconds, null);
    clock.advance(10_000);
    await admitter();
    assert.equal((await me('early-bird', future)).json().status, 'waiting');
  });
});
