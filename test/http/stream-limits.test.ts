// Live streams per client (SSE_STREAMS_PER_ADDRESS_MAX, SSE_STREAMS_PER_USER_MAX) and the
// process-wide caps, over real connections opened all at once: one address or one user gets
// exactly its allowance however many connect together (429 TOO_MANY_STREAMS for the rest),
// others are unaffected, and a stream that ends gives its slot back. The server trusts
// 127.0.0.1 as a proxy, so X-Forwarded-For plays the client addresses.
import assert from 'node:assert/strict';
import http from 'node:http';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { auth, createEvent, startTestApp, testDb, type TestApp } from '../support/harness.ts';

interface Opened {
  statusCode: number;
  headers: http.IncomingHttpHeaders;
  /** The problem document of a refusal. */
  problem?: { code: string; status: number; limit?: string; retry_after_seconds?: number };
  close(): void;
}

/** Opens a stream on a connection of its own; resolves with the status line (and a refusal's body). */
function open(base: string, path: string, headers: Record<string, string>): Promise<Opened> {
  return new Promise((resolve, reject) => {
    const request = http.get(`${base}${path}`, { agent: false, headers: { accept: 'text/event-stream', ...headers } });
    request.on('error', reject);
    request.on('response', (response) => {
      const close = () => {
        request.destroy();
        response.destroy();
      };
      const statusCode = response.statusCode ?? 0;
      if (statusCode === 200) {
        response.resume();
        resolve({ statusCode, headers: response.headers, close });
        return;
      }
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ statusCode, headers: response.headers, problem: JSON.parse(body), close }));
      response.on('error', reject);
    });
  });
}

async function gauge(t: TestApp, name: string): Promise<number> {
  const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
  const value = new RegExp(`^${name} (\\d+)$`, 'm').exec(metrics.body)?.[1];
  assert.ok(value !== undefined, `metrics name ${name}`);
  return Number(value);
}

/** Polls until check() holds; fails after 10 s. */
async function until(check: () => Promise<boolean>, what: string): Promise<void> {
  for (const deadline = Date.now() + 10_000; !(await check());) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function countBy(answers: Opened[]): Record<number, number> {
  const counts: Record<number, number> = {};
  for (const answer of answers) counts[answer.statusCode] = (counts[answer.statusCode] ?? 0) + 1;
  return counts;
}

function assertTooMany(answer: Opened, limit: 'address' | 'user') {
  assert.equal(answer.statusCode, 429);
  assert.match(String(answer.headers['content-type']), /^application\/problem\+json/);
  assert.equal(answer.problem?.code, 'TOO_MANY_STREAMS');
  assert.equal(answer.problem?.status, 429);
  assert.equal(answer.problem?.limit, limit);
  assert.ok(Number(answer.headers['retry-after']) >= 1, 'Retry-After');
}

async function withApp(env: Record<string, string>, run: (t: TestApp, base: string) => Promise<void>) {
  const t = await startTestApp({ env: { TRUST_PROXY: '127.0.0.1', ...env } });
  try {
    await run(t, await t.app.listen({ port: 0, host: '127.0.0.1' }));
  } finally {
    await t.close();
  }
}

const rounds = 3;

describe(`live streams per client on ${testDb}`, () => {
  test('when one address opens many seat-map streams at once, then exactly its allowance is served, others are unaffected, and closing gives slots back', async () => {
    const perAddress = 4;
    await withApp({ SSE_STREAMS_PER_ADDRESS_MAX: String(perAddress) }, async (t, base) => {
      const eventId = await createEvent(t);
      const path = `/v1/events/${eventId}/seats/stream`;
      const from = (address: string) => ({ 'x-forwarded-for': address });
      for (let round = 0; round < rounds; round += 1) {
        const flood = await Promise.all(Array.from({ length: 20 }, () => open(base, path, from('203.0.113.7'))));
        try {
          assert.deepEqual(countBy(flood), { 200: perAddress, 429: 20 - perAddress }, `round ${round}`);
          for (const refused of flood.filter((answer) => answer.statusCode === 429)) assertTooMany(refused, 'address');
          assert.equal(await gauge(t, 'seat_map_stream_clients'), perAddress, 'refused streams are not counted');

          // Another address has its own allowance.
          const neighbour = await open(base, path, from('198.51.100.9'));
          assert.equal(neighbour.statusCode, 200);
          neighbour.close();

          // A stream that ends gives its slot back.
          flood.find((answer) => answer.statusCode === 200)!.close();
          await until(async () => (await gauge(t, 'seat_map_stream_clients')) === perAddress - 1, 'the slot back');
          const again = await open(base, path, from('203.0.113.7'));
          assert.equal(again.statusCode, 200);
          flood.push(again);
          assertTooMany(await open(base, path, from('203.0.113.7')), 'address');
        } finally {
          for (const answer of flood) answer.close();
        }
        await until(async () => (await gauge(t, 'seat_map_stream_clients')) === 0, 'every stream counted down');
      }
    });
  });

  test('when one user opens many streams at once from many addresses, then exactly their allowance is served; seat-map and queue streams share it', async () => {
    const perUser = 3;
    const room = { enabled: true, admit_per_minute: 60, admission_window_seconds: 300 };
    await withApp({ SSE_STREAMS_PER_USER_MAX: String(perUser) }, async (t, base) => {
      const eventId = await createEvent(t, { waiting_room: room });
      const token = await t.token('many-tabs');
      const joined = await t.app.inject({ method: 'POST', url: `/v1/events/${eventId}/queue`, headers: auth(token) });
      assert.equal(joined.statusCode, 200, joined.body);
      const headersFor = (index: number) => ({ ...auth(token), 'x-forwarded-for': `203.0.113.${index + 1}` });
      for (let round = 0; round < rounds; round += 1) {
        const flood = await Promise.all(
          Array.from({ length: 12 }, (_, index) =>
            open(base, `/v1/events/${eventId}/${index % 2 ? 'queue' : 'seats'}/stream`, headersFor(index)),
          ),
        );
        try {
          assert.deepEqual(countBy(flood), { 200: perUser, 429: 12 - perUser }, `round ${round}`);
          for (const refused of flood.filter((answer) => answer.statusCode === 429)) assertTooMany(refused, 'user');
          const live = async () =>
            (await gauge(t, 'seat_map_stream_clients')) + (await gauge(t, 'waiting_room_stream_clients'));
          assert.equal(await live(), perUser);
          // Someone else, from one of the same addresses, is not affected.
          const other = await open(base, `/v1/events/${eventId}/seats/stream`, {
            ...auth(await t.token('someone-else')),
            'x-forwarded-for': '203.0.113.1',
          });
          assert.equal(other.statusCode, 200);
          other.close();
        } finally {
          for (const answer of flood) answer.close();
        }
        await until(
          async () =>
            (await gauge(t, 'seat_map_stream_clients')) === 0 && (await gauge(t, 'waiting_room_stream_clients')) === 0,
          'every stream counted down',
        );
      }
    });
  });

  test('when more buyers open queue streams at once than SSE_MAX_SUBSCRIBERS, then exactly that many are served and the rest get 503', async () => {
    const room = { enabled: true, admit_per_minute: 60, admission_window_seconds: 300 };
    const cap = 3;
    await withApp({ SSE_MAX_SUBSCRIBERS: String(cap) }, async (t, base) => {
      const eventId = await createEvent(t, { waiting_room: room });
      const tokens = await Promise.all(Array.from({ length: 12 }, (_, index) => t.token(`buyer-${index}`)));
      for (const token of tokens) {
        const joined = await t.app.inject({ method: 'POST', url: `/v1/events/${eventId}/queue`, headers: auth(token) });
        assert.equal(joined.statusCode, 200, joined.body);
      }
      for (let round = 0; round < rounds; round += 1) {
        const flood = await Promise.all(
          tokens.map((token, index) =>
            open(base, `/v1/events/${eventId}/queue/stream`, {
              ...auth(token),
              'x-forwarded-for': `198.51.100.${index + 1}`,
            }),
          ),
        );
        try {
          assert.deepEqual(countBy(flood), { 200: cap, 503: tokens.length - cap }, `round ${round}`);
          for (const refused of flood.filter((answer) => answer.statusCode === 503)) {
            assert.equal(refused.problem?.code, 'TOO_MANY_SUBSCRIBERS');
          }
          assert.equal(await gauge(t, 'waiting_room_stream_clients'), cap);
        } finally {
          for (const answer of flood) answer.close();
        }
        await until(async () => (await gauge(t, 'waiting_room_stream_clients')) === 0, 'every stream counted down');
      }
    });
  });
});
