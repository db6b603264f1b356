// Rate limits and the in-flight limit (http/plugins/limits.ts). Rate-limited routes take a
// token from the caller's user bucket and address bucket: an empty one is 429 RATE_LIMITED
// with Retry-After, and changes nothing. Past IN_FLIGHT_MAX requests at once a process
// answers 503 OVERLOADED with Retry-After at once, and stays healthy. On PostgreSQL the
// buckets are in Redis, on PGlite in the process. The clock is a ManualClock: buckets
// refill only when a test moves it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Agent, request } from 'undici';
import { ManualClock } from '../../src/adapters/clock/system-clock.ts';
import { auth, createEvent, startTestApp, tableCounts, testDb, type TestApp } from '../support/harness.ts';

const startMs = Date.parse('2027-01-10T15:00:00Z');
const userBurst = 3;
const addressBurst = 60; // more than the in-flight test's requests from 127.0.0.1
const inFlightMax = 2;

interface Answer {
  statusCode: number;
  headers: Record<string, unknown>;
  /** The raw text (inject) or the parsed JSON (undici). */
  body: unknown;
}

/** A problem document with this status and code. */
function assertProblem(response: Answer, status: number, code: string) {
  const body = typeof response.body === 'string' ? JSON.parse(response.body) : response.body;
  assert.equal(response.statusCode, status, JSON.stringify(body));
  assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  assert.equal(body.code, code);
  assert.equal(body.status, status);
  return body;
}

/** A refusal that says when to come back: Retry-After in whole seconds, at least 1, as in the body. */
function assertRefused(response: Answer, status: 429 | 503, code: 'RATE_LIMITED' | 'OVERLOADED') {
  const body = assertProblem(response, status, code);
  const retryAfter = Number(response.headers['retry-after']);
  assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After: ${response.headers['retry-after']}`);
  assert.equal(body.retry_after_seconds, retryAfter);
  return { body, retryAfter };
}

describe(`rate limits and the in-flight limit on ${testDb}`, () => {
  let t: TestApp;
  let clock: ManualClock;
  let eventId: string;
  let roomEventId: string;
  let seatIds: string[];

  before(async () => {
    clock = new ManualClock(startMs);
    t = await startTestApp({
      clock,
      env: {
        RATE_LIMITS: 'on',
        RATE_LIMIT_USER_PER_SECOND: '1',
        RATE_LIMIT_USER_BURST: String(userBurst),
        RATE_LIMIT_IP_PER_SECOND: '1',
        RATE_LIMIT_IP_BURST: String(addressBurst),
        IN_FLIGHT_MAX: String(inFlightMax),
        // The tests read the seat list (a bucket of its own, see seat-list.test.ts) as they like.
        RATE_LIMIT_SEAT_LIST_BURST: '1000',
      },
    });
    const rows = Array.from({ length: 4 }, (_, index) => ({ label: String(index + 1), seats: 50 }));
    eventId = await createEvent(t, { seat_map: { sections: [{ name: 'A', price_tier: 'front', rows }] } }, startMs);
    roomEventId = await createEvent(
      t,
      { waiting_room: { enabled: true, admit_per_minute: 60, admission_window_seconds: 300 } },
      startMs,
    );
    seatIds = (await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/seats` }))
      .json()
      .seats.map((seat: { seat_id: string }) => seat.seat_id);
  });
  after(() => t.close());

  /** Every seat that is not available, by id. */
  const taken = async () =>
    (await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/seats` }))
      .json()
      .seats.filter((seat: { status: string }) => seat.status !== 'available')
      .map((seat: { seat_id: string }) => seat.seat_id) as string[];
  const hold = async (user: string, seatId: string, address: string) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/events/${eventId}/reservations`,
      headers: auth(await t.token(user)),
      payload: { seat_ids: [seatId] },
      remoteAddress: address,
    });
  const join = async (user: string, address: string) =>
    t.app.inject({
      method: 'POST',
      url: `/v1/events/${roomEventId}/queue`,
      headers: auth(await t.token(user)),
      remoteAddress: address,
    });

  test('when a user fires more holds than their burst, then 429 RATE_LIMITED that held nothing; others are unaffected; time lets them in again', async () => {
    const address = '10.0.0.1';
    for (const seatId of seatIds.slice(0, userBurst)) {
      const held = await hold('eager', seatId, address);
      assert.equal(held.statusCode, 201, held.body);
    }
    const before = await tableCounts(t);
    const takenBefore = await taken();
    const refusedSeats = seatIds.slice(userBurst, userBurst + 3);
    let retryAfter = 0;
    for (const seatId of refusedSeats) {
      const refused = await hold('eager', seatId, address);
      const problem = assertRefused(refused, 429, 'RATE_LIMITED');
      assert.equal(problem.body.limit, 'user');
      retryAfter = problem.retryAfter;
    }
    assert.deepEqual(await tableCounts(t), before, 'the refused holds changed nothing in the database');
    assert.deepEqual(await taken(), takenBefore, 'the refused holds held no seat');
    assert.ok(!takenBefore.some((seatId) => refusedSeats.includes(seatId)));

    // Another user, even from the same address, has a bucket of their own.
    const bystander = await hold('bystander', refusedSeats[0]!, address);
    assert.equal(bystander.statusCode, 201, bystander.body);

    // A little before Retry-After: still refused. At it: one more token (1 a second).
    clock.advance(retryAfter * 1000 - 100);
    assertRefused(await hold('eager', refusedSeats[1]!, address), 429, 'RATE_LIMITED');
    clock.advance(100);
    const again = await hold('eager', refusedSeats[1]!, address);
    assert.equal(again.statusCode, 201, again.body);
    assertRefused(await hold('eager', refusedSeats[2]!, address), 429, 'RATE_LIMITED');
    assert.deepEqual((await taken()).sort(), [...takenBefore, refusedSeats[0]!, refusedSeats[1]!].sort());
  });

  test('when many users share one address, then its bucket runs out: 429 with limit "address", and nobody is queued by it', async () => {
    const address = '10.0.0.2';
    for (let index = 0; index < addressBurst; index += 1) {
      const joined = await join(`crowd-${index}`, address);
      assert.equal(joined.statusCode, 200, joined.body);
    }
    const refused = await join('crowd-late', address);
    const problem = assertRefused(refused, 429, 'RATE_LIMITED');
    assert.equal(problem.body.limit, 'address');
    // Anonymous callers take from the address bucket too: refused before being asked to sign in.
    const anonymous = await t.app.inject({
      method: 'POST',
      url: `/v1/events/${roomEventId}/queue`,
      remoteAddress: address,
    });
    assertRefused(anonymous, 429, 'RATE_LIMITED');

    // Seen from elsewhere: the refused join queued nobody, and other addresses are unaffected.
    const elsewhere = '10.0.0.3';
    const status = await t.app.inject({
      method: 'GET',
      url: `/v1/events/${roomEventId}/queue/me`,
      headers: auth(await t.token('crowd-late')),
      remoteAddress: elsewhere,
    });
    assertProblem(status, 404, 'QUEUE_NOT_JOINED');
    assert.equal((await join('neighbour', elsewhere)).statusCode, 200);

    clock.advance(problem.retryAfter * 1000);
    const later = await join('crowd-late', address);
    assert.equal(later.statusCode, 200, later.body);
    assert.equal(later.json().status, 'waiting');
    assert.equal(later.json().position, addressBurst + 2, 'behind the crowd and the neighbour');
  });

  test('when a route is not rate limited, then an exhausted address still gets it', async () => {
    const address = '10.0.0.2'; // emptied by the previous test
    assertRefused(await join('crowd-0', address), 429, 'RATE_LIMITED');
    for (let index = 0; index < addressBurst + 10; index += 1) {
      const listed = await t.app.inject({ method: 'GET', url: '/v1/events', remoteAddress: address });
      assert.equal(listed.statusCode, 200, listed.body);
    }
    for (const url of [`/v1/events/${eventId}`, `/v1/events/${eventId}/seats`, '/healthz']) {
      const answered = await t.app.inject({ method: 'GET', url, remoteAddress: address });
      assert.equal(answered.statusCode, 200, `${url}: ${answered.body}`);
    }
    assertRefused(await join('crowd-0', address), 429, 'RATE_LIMITED');
  });

  test('when more requests are being answered at once than IN_FLIGHT_MAX, then the rest get 503 OVERLOADED at once and the process stays healthy', async () => {
    const base = await t.app.listen({ port: 0, host: '127.0.0.1' });
    const agent = new Agent({ connections: 128 });
    // The holds that get a slot stop inside the handler (reading their event) until the test
    // lets them go: work in progress however fast the database answers (PGlite answers a
    // hold without ever yielding to the event loop, so nothing would overlap by itself).
    const store = t.runtime.deps.events;
    const findEvent = store.findEvent;
    let working = 0;
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    const stopAtGate = () => {
      store.findEvent = async (id: string) => {
        working += 1;
        await gate;
        return findEvent.call(store, id);
      };
    };
    try {
      const call = async (method: 'GET' | 'POST', path: string, token?: string, body?: unknown) => {
        const response = await request(`${base}${path}`, {
          method,
          dispatcher: agent,
          headers: {
            ...(token ? auth(token) : {}),
            ...(body ? { 'content-type': 'application/json' } : {}),
          },
          body: body ? JSON.stringify(body) : undefined,
        });
        const text = await response.body.text();
        const json = /json/.test(String(response.headers['content-type']));
        return { statusCode: response.statusCode, headers: response.headers, body: json ? JSON.parse(text) : text };
      };
      const takenBefore = new Set(await taken());
      const free = seatIds.filter((seatId) => !takenBefore.has(seatId));
      const buyers = 50;
      const tokens = await Promise.all(Array.from({ length: buyers }, (_, index) => t.token(`rush-${index}`)));
      let answered = 0;
      stopAtGate();
      const holds = tokens.map((token, index) =>
        call('POST', `/v1/events/${eventId}/reservations`, token, { seat_ids: [free[index]!] }).finally(() => {
          answered += 1;
        }),
      );
      await until(
        () => working === inFlightMax && answered === buyers - inFlightMax,
        'the holds past the limit answered',
      );
      // While every slot is taken: probes get through, other work is refused.
      const probes = await Promise.all(['/healthz', '/readyz', '/metrics'].map((path) => call('GET', path)));
      assert.deepEqual(
        probes.map((probe) => probe.statusCode),
        [200, 200, 200],
        'health, readiness and metrics are never counted',
      );
      assertRefused(await call('GET', '/v1/events'), 503, 'OVERLOADED');
      letGo();
      store.findEvent = findEvent;
      const answers = await Promise.all(holds);
      const byStatus: Record<number, number> = {};
      for (const response of answers) byStatus[response.statusCode] = (byStatus[response.statusCode] ?? 0) + 1;
      assert.deepEqual(byStatus, { 201: inFlightMax, 503: buyers - inFlightMax }, 'the working holds, and refusals');
      for (const response of answers.filter((r) => r.statusCode === 503)) assertRefused(response, 503, 'OVERLOADED');
      // A refused request did nothing: exactly the 201s hold seats.
      const heldNow = (await taken()).filter((seatId) => !takenBefore.has(seatId));
      assert.equal(heldNow.length, inFlightMax);

      // Afterwards: healthy, serving, and nothing left counted as in flight.
      assert.equal((await call('GET', '/healthz')).statusCode, 200);
      const normal = await call('POST', `/v1/events/${eventId}/reservations`, await t.token('after-the-rush'), {
        seat_ids: [free[buyers]!],
      });
      assert.equal(normal.statusCode, 201, JSON.stringify(normal.body));
      const inFlight = async () => {
        const metrics = await request(`${base}/metrics`, { dispatcher: agent });
        const text = await metrics.body.text();
        return Number(/^http_requests_in_flight (\d+)$/m.exec(text)?.[1]);
      };
      let current = await inFlight();
      for (let attempt = 0; attempt < 20 && current !== 0; attempt += 1) {
        await sleep(50);
        current = await inFlight();
      }
      assert.equal(current, 0, 'http_requests_in_flight is back to 0');
    } finally {
      letGo();
      store.findEvent = findEvent;
      await agent.close();
    }
  });
});

/** Resolves once check() holds (polled); fails after 10 s with what it waited for. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; !check();) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

describe(`rate-limit scope on ${testDb}`, () => {
  const limitedEnv = (scope: 'shared' | 'process') => ({
    RATE_LIMITS: 'on',
    RATE_LIMIT_SCOPE: scope,
    RATE_LIMIT_USER_PER_SECOND: '1',
    RATE_LIMIT_USER_BURST: '4',
  });
  /** Two apps on one database and one Redis prefix: two processes of one service. */
  const twoApps = async (scope: 'shared' | 'process') => {
    const clock = new ManualClock(startMs);
    const first = await startTestApp({ clock, env: limitedEnv(scope) });
    const second = await startTestApp({ clock, env: limitedEnv(scope), schema: first.schema });
    // The first owns the schema and the keys: it closes last.
    return { first, second, close: async () => (await second.close(), await first.close()) };
  };
  /** Statuses of GET …/queue/me (rate-limited; 404 when not joined) sent alternately to both apps. */
  const alternate = async (apps: TestApp[], count: number) => {
    const token = await apps[0]!.token('spread-user');
    const statuses: number[] = [];
    for (let index = 0; index < count; index += 1) {
      const app = apps[index % apps.length]!;
      const answer = await app.app.inject({
        method: 'GET',
        url: '/v1/events/00000000-0000-4000-8000-000000000000/queue/me',
        headers: auth(token),
      });
      statuses.push(answer.statusCode);
    }
    return statuses;
  };

  test('when one user spreads requests over two processes with shared buckets, then the limit holds across them', async (context) => {
    if (testDb !== 'postgres') return context.skip('shared buckets need Redis (PGlite is one process)');
    const apps = await twoApps('shared');
    try {
      const statuses = await alternate([apps.first, apps.second], 8);
      assert.deepEqual(statuses, [404, 404, 404, 404, 429, 429, 429, 429], 'a burst of 4 for both processes together');
    } finally {
      await apps.close();
    }
  });

  test('when the scope is process, then each process keeps its own buckets (no Redis call per request)', async (context) => {
    if (testDb !== 'postgres') return context.skip('the embedded default has one process: its buckets are its own');
    const apps = await twoApps('process');
    try {
      const statuses = await alternate([apps.first, apps.second], 10);
      assert.deepEqual(statuses, [404, 404, 404, 404, 404, 404, 404, 404, 429, 429], 'a burst of 4 in each');
    } finally {
      await apps.close();
    }
  });
});

describe(`the client address behind a proxy on ${testDb}`, () => {
  /** Statuses of anonymous GET …/queue/me (rate-limited by address; 401 when let through) per forwarded address. */
  const statusesFor = async (trustProxy: string) => {
    const t = await startTestApp({
      clock: new ManualClock(startMs),
      env: { RATE_LIMITS: 'on', RATE_LIMIT_IP_PER_SECOND: '1', RATE_LIMIT_IP_BURST: '2', TRUST_PROXY: trustProxy },
    });
    try {
      const statuses: Record<string, number[]> = {};
      for (const client of ['203.0.113.7', '203.0.113.7', '203.0.113.7', '198.51.100.9']) {
        const answer = await t.app.inject({
          method: 'GET',
          url: '/v1/events/00000000-0000-4000-8000-000000000000/queue/me',
          remoteAddress: '10.0.0.2', // the load balancer
          headers: { 'x-forwarded-for': client },
        });
        (statuses[client] ??= []).push(answer.statusCode);
      }
      return statuses;
    } finally {
      await t.close();
    }
  };

  test('when TRUST_PROXY names the proxy, then each forwarded client has its own address bucket', async () => {
    assert.deepEqual(await statusesFor('10.0.0.0/8'), { '203.0.113.7': [401, 401, 429], '198.51.100.9': [401] });
  });

  test('when the proxy is not trusted, then X-Forwarded-For is ignored: everyone shares its address', async () => {
    assert.deepEqual(await statusesFor('false'), { '203.0.113.7': [401, 401, 429], '198.51.100.9': [429] });
  });
});
