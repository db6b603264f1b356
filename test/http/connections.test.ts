// Connections that carry no finished request (http/plugins/connections.ts, limits.ts): a
// request must arrive within HEADERS_TIMEOUT_MS / REQUEST_TIMEOUT_MS (else 408 problem+json
// and the connection ends), a request whose body is still on its way takes no in-flight
// slot, one address holds at most CONNECTIONS_PER_ADDRESS_MAX connections, and a live
// stream is never cut by the request timeout (it times the request, not the answer). Raw
// sockets against the real server; 127.0.0.2 and 127.0.0.3 are other clients.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { auth, createEvent, startTestApp, testDb, type TestApp } from '../support/harness.ts';

/** How long a test waits for the server to act before it fails (never a measurement). */
const patienceMs = 10_000;

async function withApp(env: Record<string, string>, run: (t: TestApp, port: number) => Promise<void>) {
  const t = await startTestApp({ env });
  try {
    const address = await t.app.listen({ port: 0, host: '127.0.0.1' });
    await run(t, Number(new URL(address).port));
  } finally {
    closeAll();
    await t.close();
  }
}

const opened = new Set<Socket>();

/** A raw connection (from localAddress), with everything it receives collected. */
async function connect(port: number, localAddress = '127.0.0.1') {
  const socket = createConnection({ port, host: '127.0.0.1', localAddress });
  opened.add(socket);
  let received = '';
  let closed = false;
  socket.setEncoding('latin1');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => {}); // a reset is one of the outcomes under test
  const gone = new Promise<void>((resolve) =>
    socket.once('close', () => {
      closed = true;
      opened.delete(socket);
      resolve();
    }),
  );
  await Promise.race([once(socket, 'connect'), gone]);
  return {
    socket,
    received: () => received,
    closed: () => closed,
    /** Resolves once the server has closed the connection; fails after patienceMs. */
    async untilClosed(what: string): Promise<string> {
      const timer = sleep(patienceMs).then(() => {
        throw new Error(`the server kept the connection open (${what}); received: ${JSON.stringify(received)}`);
      });
      await Promise.race([gone, timer]);
      return received;
    },
    /** Resolves once the received text matches; fails after patienceMs or on close. */
    async until(pattern: RegExp | ((text: string) => boolean), what: string): Promise<string> {
      const matches = typeof pattern === 'function' ? pattern : (text: string) => pattern.test(text);
      for (const deadline = Date.now() + patienceMs; !matches(received);) {
        if (closed) throw new Error(`closed before ${what}; received: ${JSON.stringify(received)}`);
        if (Date.now() > deadline)
          throw new Error(`timed out waiting for ${what}; received: ${JSON.stringify(received)}`);
        await sleep(5);
      }
      return received;
    },
    close() {
      socket.destroy();
    },
  };
}

function closeAll() {
  for (const socket of opened) socket.destroy();
  opened.clear();
}

/** The status and problem document of one raw HTTP answer. */
function problemOf(raw: string) {
  const [head, body] = raw.split('\r\n\r\n', 2) as [string, string];
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]);
  assert.match(head, /content-type: application\/problem\+json/i, head);
  return { status, problem: JSON.parse(body) as { status: number; code: string; type: string; detail: string } };
}

const get = (path: string) => `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`;

describe(`connections without a finished request on ${testDb}`, () => {
  const timeouts = { HEADERS_TIMEOUT_MS: '100', REQUEST_TIMEOUT_MS: '200', CONNECTIONS_CHECKING_INTERVAL_MS: '20' };

  test('when a client sends headers with a Content-Length and never the body, then it gets 408 REQUEST_TIMEOUT as problem+json and the connection ends', async () => {
    await withApp(timeouts, async (t, port) => {
      const eventId = await createEvent(t);
      const client = await connect(port);
      client.socket.write(
        `POST /v1/events/${eventId}/reservations HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
          `authorization: Bearer ${await t.token('slow-poster')}\r\n` +
          'content-type: application/json\r\ncontent-length: 100\r\n\r\n{"seat_ids":',
      );
      const { status, problem } = problemOf(await client.untilClosed('a body that never comes'));
      assert.equal(status, 408);
      assert.equal(problem.status, 408);
      assert.equal(problem.code, 'REQUEST_TIMEOUT');
      // Nothing was held by the request that never arrived.
      const seats = (await t.app.inject({ method: 'GET', url: `/v1/events/${eventId}/seats` })).json().seats;
      assert.ok(seats.every((seat: { status: string }) => seat.status === 'available'));
    });
  });

  test('when a client never finishes its headers, then it gets 408 and the connection ends; a client that connects and says nothing is closed too', async () => {
    await withApp(timeouts, async (_t, port) => {
      const partial = await connect(port);
      partial.socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
      const { status, problem } = problemOf(await partial.untilClosed('headers that never end'));
      assert.equal(status, 408);
      assert.equal(problem.code, 'REQUEST_TIMEOUT');
      const silent = await connect(port);
      await silent.untilClosed('a connection without a request');
    });
  });

  test('when a live stream runs many times longer than REQUEST_TIMEOUT_MS, then it is not cut: the timeout covers receiving the request only', async () => {
    await withApp({ ...timeouts, SSE_HEARTBEAT_MS: '100' }, async (t, port) => {
      const eventId = await createEvent(t);
      const watcher = await connect(port);
      watcher.socket.write(get(`/v1/events/${eventId}/seats/stream`));
      await watcher.until(/^HTTP\/1\.1 200[^]*event: snapshot/, 'the snapshot');
      // Ten heartbeats (100 ms apart) span five request timeouts and fifty checks.
      await watcher.until((text) => text.split(': heartbeat\n\n').length > 10, 'ten heartbeats');
      assert.equal(watcher.closed(), false, 'the stream is still open');
      const buyer = await t.token('stream-buyer');
      const held = await t.app.inject({
        method: 'POST',
        url: `/v1/events/${eventId}/reservations`,
        headers: auth(buyer),
        payload: { seat_ids: ['s5'] },
      });
      assert.equal(held.statusCode, 201, held.body);
      await watcher.until(/event: seat\n[^]*"s5"/, 'the hold on the stream');
    });
  });

  test('when more connections than IN_FLIGHT_MAX have sent their headers and not their bodies, then they hold no slot: others are served, and they are answered when their bodies come', async () => {
    const inFlightMax = 3;
    await withApp({ IN_FLIGHT_MAX: String(inFlightMax), REQUEST_TIMEOUT_MS: '60000' }, async (t, port) => {
      const eventId = await createEvent(t);
      const body = (index: number) => JSON.stringify({ seat_ids: [`s${index}`] });
      const slow = [];
      for (let index = 0; index < inFlightMax + 2; index += 1) {
        const client = await connect(port);
        const text = body(index);
        client.socket.write(
          `POST /v1/events/${eventId}/reservations HTTP/1.1\r\nHost: 127.0.0.1\r\n` +
            `authorization: Bearer ${await t.token(`slow-${index}`)}\r\ncontent-type: application/json\r\n` +
            `content-length: ${text.length}\r\nexpect: 100-continue\r\n\r\n`,
        );
        // 100 Continue: the server has taken the request in (its onRequest hooks have run).
        await client.until(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '100 Continue');
        client.socket.write(text.slice(0, 5));
        slow.push({ client, rest: text.slice(5) });
      }
      const metrics = await t.app.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /^http_requests_in_flight 0$/m, 'bodies still arriving are not in flight');
      const other = await connect(port, '127.0.0.2');
      other.socket.write(get(`/v1/events/${eventId}`));
      assert.match(await other.until(/^HTTP\/1\.1 \d{3}/, 'an answer'), /^HTTP\/1\.1 200/);

      // Each body arrives in turn and its request is answered.
      for (const { client, rest } of slow) {
        client.socket.write(rest);
        assert.match(await client.until(/HTTP\/1\.1 (?!100)\d{3}/, 'the answer'), /HTTP\/1\.1 201/);
      }
    });
  });

  test('when one address opens more than CONNECTIONS_PER_ADDRESS_MAX connections, then the extra ones are closed at once, other addresses are served, and a closed one makes room', async () => {
    const perAddress = 3;
    await withApp({ CONNECTIONS_PER_ADDRESS_MAX: String(perAddress) }, async (_t, port) => {
      for (let round = 0; round < 3; round += 1) {
        // Twenty at once from one address (a new one each round): exactly the allowance is answered.
        const address = `127.0.0.${10 + round}`;
        const flood = await Promise.all(Array.from({ length: 20 }, () => connect(port, address)));
        for (const client of flood) if (!client.closed()) client.socket.write(get('/healthz'));
        const outcomes = await Promise.all(
          flood.map(async (client) => {
            for (const deadline = Date.now() + patienceMs; ; await sleep(5)) {
              if (/^HTTP\/1\.1 200/.test(client.received())) return 'answered';
              if (client.closed()) return client.received() === '' ? 'closed' : `closed after ${client.received()}`;
              if (Date.now() > deadline) return `neither: ${client.received()}`;
            }
          }),
        );
        const counts: Record<string, number> = {};
        for (const outcome of outcomes) counts[outcome] = (counts[outcome] ?? 0) + 1;
        assert.deepEqual(counts, { answered: perAddress, closed: 20 - perAddress }, `round ${round}`);

        // Another address is not affected.
        const neighbour = await connect(port, '127.0.0.2');
        neighbour.socket.write(get('/healthz'));
        await neighbour.until(/^HTTP\/1\.1 200/, 'the neighbour served');
        neighbour.close();

        // One of the three goes: a new connection from that address gets in (once the
        // server has seen the close).
        const kept = flood.filter((client) => !client.closed());
        kept[0]!.close();
        let admitted = false;
        for (let attempt = 0; attempt < 200 && !admitted; attempt += 1) {
          const next = await connect(port, address);
          if (!next.closed()) next.socket.write(get('/healthz'));
          for (;;) {
            if (/^HTTP\/1\.1 200/.test(next.received())) {
              admitted = true;
              break;
            }
            if (next.closed()) break;
            await sleep(5);
          }
          next.close();
        }
        assert.ok(admitted, 'a connection from the address is served again');
        for (const client of flood) client.close();
      }
    });
  });
});
