// Running the service as operators do: several workers behind one port, and PostgreSQL
// going away and coming back.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { describe, test } from 'node:test';
import {
  auth,
  createEvent,
  createSchema,
  dropSchema,
  eventBody,
  postgresUrl,
  postgresUrlFor,
  redisUrl,
  startTestApp,
  signToken,
  testDb,
  testSecret,
} from '../support/harness.ts';
import { freePort, startServerProcess } from '../support/processes.ts';

/** A TCP proxy in front of PostgreSQL that the test can cut and restore. */
async function startCuttableProxy(target: URL) {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  const open = async () => {
    server = createServer((client) => {
      const upstream = createConnection(Number(target.port || 5432), target.hostname);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
        socket.on('error', () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
    });
    server.listen(port, '127.0.0.1');
    await once(server, 'listening');
  };
  const cut = async () => {
    const closing = server ? new Promise((resolve) => server!.close(resolve)) : Promise.resolve();
    for (const socket of sockets) socket.destroy();
    await closing;
    server = null;
  };
  await open();
  return { port, open, cut };
}

// Start-up checks that open no database of the run's (the same in both passes): once each.
const oncePostgres = testDb !== 'postgres' && 'the same in both passes: runs once, in the PostgreSQL pass';
const oncePglite = testDb !== 'pglite' && 'the embedded database in both passes: runs once, in the PGlite pass';

describe(`operations on ${testDb}`, () => {
  test(
    'when PostgreSQL becomes unreachable, then requests get 503 with Retry-After and service resumes when it is back',
    { skip: testDb !== 'postgres' && 'PostgreSQL only: the embedded database cannot go away' },
    async () => {
      const target = new URL(postgresUrl);
      const proxy = await startCuttableProxy(target);
      const proxied = new URL(postgresUrl);
      proxied.host = `127.0.0.1:${proxy.port}`;
      const t = await startTestApp({ env: { DATABASE_URL: proxied.toString(), DATABASE_POOL_MAX: '2' } });
      try {
        const eventId = await createEvent(t);
        const token = await t.token('outage-buyer');
        const hold = (seat: string) =>
          t.app.inject({
            method: 'POST',
            url: `/v1/events/${eventId}/reservations`,
            headers: auth(token),
            payload: { seat_ids: [seat] },
          });
        assert.equal((await hold('s0')).statusCode, 201);

        await proxy.cut();
        const during = await hold('s1');
        assert.equal(during.statusCode, 503, during.body);
        assert.equal(during.json().code, 'SERVICE_UNAVAILABLE');
        assert.ok(Number(during.headers['retry-after']) > 0);
        const ready = await t.app.inject({ method: 'GET', url: '/readyz' });
        assert.equal(ready.statusCode, 503);
        assert.equal((await t.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'alive, just not ready');

        await proxy.open();
        let after = await hold('s1');
        for (let attempt = 0; attempt < 20 && after.statusCode === 503; attempt += 1) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          after = await hold('s1');
        }
        assert.equal(after.statusCode, 201, after.body);
        assert.equal((await t.app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
      } finally {
        await t.close();
        await proxy.cut();
      }
    },
  );

  test(
    'when started with WORKERS=2, then a token works on every worker and SIGTERM stops cleanly',
    { skip: testDb !== 'postgres' && 'several workers need PostgreSQL' },
    async () => {
      const schema = await createSchema();
      const server = await startServerProcess({
        DATABASE_URL: postgresUrlFor(schema),
        REDIS_URL: redisUrl,
        REDIS_KEY_PREFIX: `bxt:${schema}:`,
        AUTH_SECRET: testSecret,
        WORKERS: '2',
      });
      try {
        const token = await signToken('cluster-user', 'organizer');
        // New connections are spread over the workers; every one must accept the token.
        const statuses = await Promise.all(
          Array.from({ length: 20 }, () =>
            fetch(`${server.url}/v1/me/bookings`, { headers: { ...auth(token), connection: 'close' } }).then(
              (r) => r.status,
            ),
          ),
        );
        assert.deepEqual([...new Set(statuses)], [200]);
        const minted = await fetch(`${server.url}/v1/dev/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user_id: 'intruder', role: 'admin' }),
        });
        assert.equal(minted.status, 404, 'no token minting with an identity provider');
      } finally {
        await server.stop();
        await dropSchema(schema);
      }
      assert.equal(server.child.exitCode, 0, server.output());
    },
  );

  const refusedStart = (env: Record<string, string>, args: string[] = []) =>
    startServerProcess(env, 10_000, args).then(
      async (server) => {
        await server.stop();
        return 'it started';
      },
      (error: Error) => error.message,
    );

  test(
    'when production-shaped settings have no identity provider, then the server refuses to start and mints nothing',
    { skip: oncePostgres },
    async () => {
      // The audit's setup: DATABASE_URL and REDIS_URL, no AUTH_SECRET / AUTH_JWKS_URL, even
      // with npm start's flag that asks for demo mode on an unconfigured machine.
      const production = { DATABASE_URL: postgresUrl, REDIS_URL: redisUrl };
      for (const args of [[], ['--demo-when-unconfigured']]) {
        assert.match(await refusedStart(production, args), /no identity provider: set AUTH_SECRET/);
      }
      assert.match(
        await refusedStart({ DATA_DIR: 'memory://' }),
        /no identity provider/,
        'demo mode is never a fallback',
      );
    },
  );

  test(
    'when demo mode is asked for with a database, a public address or an identity provider, then the start stops and says why',
    { skip: oncePostgres },
    async () => {
      assert.match(
        await refusedStart({ DEMO_MODE: 'true', DATABASE_URL: postgresUrl }),
        /DEMO_MODE=true refused: DATABASE_URL is set/,
      );
      assert.match(
        await refusedStart({ DEMO_MODE: 'true', DATA_DIR: 'memory://', HOST: '0.0.0.0' }),
        /DEMO_MODE=true refused: HOST 0.0.0.0 is not a loopback address/,
      );
      assert.match(
        await refusedStart({ DEMO_MODE: 'true', DATA_DIR: 'memory://', AUTH_SECRET: testSecret }),
        /DEMO_MODE=true refused: AUTH_SECRET is set/,
      );
    },
  );

  test(
    'when npm start runs with nothing configured, then it is demo mode on the embedded database: tokens are minted',
    { skip: oncePglite },
    async () => {
      const dataDir = await mkdtemp(path.join(tmpdir(), 'boxoffice-demo-'));
      const server = await startServerProcess({ DATA_DIR: dataDir }, 60_000, ['--demo-when-unconfigured']);
      try {
        const minted = await fetch(`${server.url}/v1/dev/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ user_id: 'alice', role: 'customer' }),
        });
        assert.equal(minted.status, 200);
        const { token } = (await minted.json()) as { token: string };
        assert.equal((await fetch(`${server.url}/v1/me/bookings`, { headers: auth(token) })).status, 200);
        assert.match(server.output(), /Demo mode \(DEMO_MODE=true\)/);
        assert.match(server.output(), /PGlite does not fsync/, 'the embedded durability is said at start-up');
      } finally {
        await server.stop();
        await rm(dataDir, { recursive: true, force: true });
      }
    },
  );

  test('when SIGTERM comes while clients hold connections without a request, then the shutdown ends them and exits 0 at once', async () => {
    const schema = testDb === 'postgres' ? await createSchema() : null;
    const server = await startServerProcess({
      ...(schema
        ? { DATABASE_URL: postgresUrlFor(schema), REDIS_URL: redisUrl, REDIS_KEY_PREFIX: `bxt:${schema}:` }
        : { DATA_DIR: 'memory://' }),
      AUTH_SECRET: testSecret,
      // Far beyond the 10 s after which stop() kills it: exit 0 means the shutdown did not wait for the deadline.
      SHUTDOWN_TIMEOUT_MS: '60000',
    });
    const sockets: Socket[] = [];
    try {
      const created = await fetch(`${server.url}/v1/events`, {
        method: 'POST',
        headers: { ...auth(await signToken('organizer-1', 'organizer')), 'content-type': 'application/json' },
        body: JSON.stringify(eventBody()),
      });
      assert.equal(created.status, 201);
      const { event_id: eventId } = (await created.json()) as { event_id: string };
      const { port } = new URL(server.url);
      const connect = async () => {
        const socket = createConnection(Number(port), '127.0.0.1');
        socket.on('error', () => {});
        sockets.push(socket);
        await once(socket, 'connect');
        return socket;
      };
      /** Sends a request and resolves with the first chunk of the answer. */
      const ask = async (socket: Socket, path: string) => {
        socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n`);
        const [chunk] = (await once(socket, 'data')) as [Buffer];
        return chunk.toString('latin1');
      };
      // 1. Opened, never a request (a preconnect). 2. Keep-alive, between requests.
      await connect();
      assert.match(await ask(await connect(), '/healthz'), /^HTTP\/1\.1 200/);
      // 3. A live seat-map subscriber still listening. 4. One that went away (the case first seen).
      assert.match(await ask(await connect(), `/v1/events/${eventId}/seats/stream`), /^HTTP\/1\.1 200/);
      const gone = await connect();
      assert.match(await ask(gone, `/v1/events/${eventId}/seats/stream`), /^HTTP\/1\.1 200/);
      gone.destroy();
      await new Promise((resolve) => setTimeout(resolve, 100));

      const ended = sockets.map((socket) => (socket.destroyed ? Promise.resolve() : once(socket, 'close')));
      await server.stop();
      assert.equal(
        server.child.exitCode,
        0,
        `exit ${server.child.exitCode} (${server.child.signalCode}):\n${server.output()}`,
      );
      assert.doesNotMatch(server.output(), /graceful shutdown timed out/);
      await Promise.all(ended);
    } finally {
      for (const socket of sockets) socket.destroy();
      await server.stop();
      if (schema) await dropSchema(schema);
    }
  });

  test(
    'when WORKERS=2 is asked for without DATABASE_URL or REDIS_URL, then the start stops with a clear message',
    { skip: oncePostgres },
    async () => {
      const failed = await startServerProcess({ WORKERS: '2', DATA_DIR: 'memory://' }, 10_000).then(
        () => null,
        (error: Error) => error.message,
      );
      assert.match(failed ?? 'it started', /WORKERS > 1 needs DATABASE_URL \(PostgreSQL\) and REDIS_URL/);
      const withoutRedis = await startServerProcess({ WORKERS: '2', DATABASE_URL: postgresUrl }, 10_000).then(
        () => null,
        (error: Error) => error.message,
      );
      assert.match(withoutRedis ?? 'it started', /missing: REDIS_URL/);
    },
  );
});
