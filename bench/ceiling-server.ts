// The throughput ceiling of a Redis hold gate, for the benchmark only (not part of the
// service): a bare Fastify server whose hold endpoint does nothing but run ONE atomic Lua
// script in Redis. No token check (the bearer header only has to be present), no JSON
// schema, no PostgreSQL, no event or seat map, no per-user cap. Whatever the real service
// does on top of this costs throughput; this is how fast the hold path could be on this
// machine with this load generator.
//
//   POST /v1/events/:event_id/reservations  {"seat_ids": ["s1", "s2"]}
//     201 {"reservation_id", "event_id", "seats", "expires_at"}
//     409 application/problem+json {"code": "SEAT_UNAVAILABLE", "conflicting_seat_ids": [...]}
//   GET /readyz   200 once Redis answers
//   GET /metrics  hold count and duration sum, event loop delay (the names the service uses)
//
// State: one hash per event, `${CEILING_KEY_PREFIX}${eventId}:holds`, field seat id →
// "<expiry ms>:<reservation id>". A seat is free when absent or expired. The script holds all
// the asked seats or none. Each hash expires on its own 10 minutes after its last hold.
//
// env: PORT, HOST (127.0.0.1), REDIS_URL (default redis://127.0.0.1:6379/0), CEILING_KEY_PREFIX
// (must start with "ceil:"; default "ceil:"). Every key under the prefix is deleted at start
// and at SIGTERM/SIGINT (SCAN + UNLINK of the prefix only, never FLUSHDB/FLUSHALL).
import { randomUUID } from 'node:crypto';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Fastify from 'fastify';
import { Redis, type Result } from 'ioredis';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** KEYS: the event's hash. ARGV: now ms, expiry ms, reservation id, seat ids… → [] or the conflicting seat ids. */
    ceilingHold(
      key: string,
      now: number,
      expiry: number,
      reservationId: string,
      ...seats: string[]
    ): Result<string[], Context>;
  }
}

const holdScript = `
local now = tonumber(ARGV[1])
local current = redis.call('HMGET', KEYS[1], unpack(ARGV, 4))
local conflicts = {}
for i = 1, #current do
  local value = current[i]
  if value and tonumber(string.match(value, '^%d+')) > now then conflicts[#conflicts + 1] = ARGV[i + 3] end
end
if #conflicts > 0 then return conflicts end
local value = ARGV[2] .. ':' .. ARGV[3]
local fields = {}
for i = 4, #ARGV do
  fields[#fields + 1] = ARGV[i]
  fields[#fields + 1] = value
end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('PEXPIREAT', KEYS[1], tonumber(ARGV[2]) + 60000)
return {}
`;

const holdTtlMs = 600_000;
const maxSeatsPerHold = 20;
const port = Number(process.env.PORT ?? 3100);
const host = process.env.HOST ?? '127.0.0.1';
const prefix = process.env.CEILING_KEY_PREFIX ?? 'ceil:';
if (!prefix.startsWith('ceil:') || /[*?[\]\\]/.test(prefix)) {
  process.stderr.write(`CEILING_KEY_PREFIX must start with "ceil:" and hold no glob characters, got ${prefix}\n`);
  process.exit(2);
}

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0', {
  enableAutoPipelining: true,
  maxRetriesPerRequest: 1,
  lazyConnect: true,
});
redis.defineCommand('ceilingHold', { numberOfKeys: 1, lua: holdScript });

/** Deletes every key under the prefix (SCAN + UNLINK), returns how many. */
async function flushOwnKeys(): Promise<number> {
  let deleted = 0;
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

const problem = (conflicting: string[]) => ({
  type: 'https://boxoffice.example/problems/seat-unavailable',
  title: 'Seat unavailable',
  status: 409,
  code: 'SEAT_UNAVAILABLE',
  conflicting_seat_ids: conflicting,
});

const badRequest = (detail: string) => ({
  type: 'https://boxoffice.example/problems/validation',
  title: 'Invalid request',
  status: 400,
  code: 'VALIDATION_FAILED',
  detail,
});

let holdCount = 0;
let holdSecondsSum = 0;
const loopDelay = monitorEventLoopDelay({ resolution: 10 });
loopDelay.enable();

const app = Fastify({ logger: false, bodyLimit: 64 * 1024 });

app.post<{ Params: { event_id: string }; Body: { seat_ids?: unknown } }>(
  '/v1/events/:event_id/reservations',
  async (request, reply) => {
    if (!request.headers.authorization?.startsWith('Bearer ')) {
      return reply.code(401).type('application/problem+json').send({ status: 401, code: 'UNAUTHENTICATED' });
    }
    const seats = request.body?.seat_ids;
    if (
      !Array.isArray(seats) ||
      seats.length === 0 ||
      seats.length > maxSeatsPerHold ||
      !seats.every((seat) => typeof seat === 'string' && seat.length > 0 && seat.length <= 64) ||
      new Set(seats).size !== seats.length
    ) {
      return reply
        .code(400)
        .type('application/problem+json')
        .send(badRequest(`seat_ids: 1 to ${maxSeatsPerHold} distinct seat ids`));
    }
    const eventId = request.params.event_id;
    const now = Date.now();
    const expiry = now + holdTtlMs;
    const reservationId = randomUUID();
    const conflicting = await redis.ceilingHold(`${prefix}${eventId}:holds`, now, expiry, reservationId, ...seats);
    if (conflicting.length > 0) {
      return reply.code(409).type('application/problem+json').send(problem(conflicting));
    }
    return reply.code(201).send({
      reservation_id: reservationId,
      event_id: eventId,
      seats,
      expires_at: new Date(expiry).toISOString(),
    });
  },
);

app.addHook('onResponse', async (request, reply) => {
  if (request.routeOptions.url === '/v1/events/:event_id/reservations') {
    holdCount += 1;
    holdSecondsSum += reply.elapsedTime / 1000;
  }
});

app.get('/readyz', async (_request, reply) => {
  try {
    await redis.ping();
    return { status: 'ready' };
  } catch {
    return reply.code(503).send({ status: 'redis unavailable' });
  }
});

// The lines bench/server.ts reads from the service's prom-client output (event loop delay
// restarts at every scrape, as prom-client's does).
app.get('/metrics', async (_request, reply) => {
  const labels = '{method="POST",route="/v1/events/:event_id/reservations",status_code="all"}';
  const text = [
    `http_request_duration_seconds_sum${labels} ${holdSecondsSum}`,
    `http_request_duration_seconds_count${labels} ${holdCount}`,
    `nodejs_eventloop_lag_mean_seconds ${loopDelay.mean / 1e9}`,
    `nodejs_eventloop_lag_p99_seconds ${loopDelay.percentile(99) / 1e9}`,
    `nodejs_eventloop_lag_max_seconds ${loopDelay.max / 1e9}`,
    '',
  ].join('\n');
  loopDelay.reset();
  return reply.type('text/plain; version=0.0.4').send(text);
});

let stopping = false;
async function stop(signal: string) {
  if (stopping) return;
  stopping = true;
  let code = 0;
  try {
    await app.close();
    const deleted = await flushOwnKeys();
    process.stderr.write(`ceiling server: ${signal}, deleted ${deleted} keys under ${prefix}\n`);
    await redis.quit();
  } catch (error) {
    process.stderr.write(`ceiling server: error while stopping: ${(error as Error).message}\n`);
    code = 1;
  }
  process.exit(code);
}
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));

await redis.connect();
const deleted = await flushOwnKeys();
if (deleted > 0) process.stderr.write(`ceiling server: deleted ${deleted} stale keys under ${prefix}\n`);
await app.listen({ port, host });
process.stderr.write(`ceiling server listening on http://${host}:${port}, keys under ${prefix}\n`);
