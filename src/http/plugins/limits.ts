// Backpressure and rate limits, checked before any work is done for a request.
//
// In flight: each process answers at most inFlightMax requests at once; the next one gets
// 503 with Retry-After at once, instead of a queue that grows until every request times
// out. A request counts once its body has arrived (preValidation): one that is still
// arriving costs a connection, not a slot, so clients that send headers and never the body
// cannot take every slot (they are cut off by REQUEST_TIMEOUT_MS, and their connections
// are limited per address, see connections.ts). When every slot is taken, a new request is
// also refused at onRequest, before its token is verified or its body read. Live streams,
// health and metrics are not counted (they must stay reachable).
//
// Rate limits: routes marked `config: { rateLimited: true }` (the hot, costly ones) take
// a token from the caller's address bucket and, when signed in, from the user's bucket;
// `rateLimited: 'seat-list'` (GET …/seats, megabytes per answer) from the address's
// seat-list bucket. An empty bucket is 429 with Retry-After. Buckets live in Redis when
// there is one (so the limit holds across processes), else in this process.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Clock } from '../../app/ports/clock.ts';
import type { BucketRequest, RateLimiter } from '../../app/ports/rate-limiter.ts';
import { DomainError } from '../../domain/errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Take a token first: true from the caller's address and user buckets (the hot routes),
     * 'seat-list' from the address's seat-list bucket.
     */
    rateLimited?: boolean | 'seat-list';
    /** Not counted against the in-flight limit: long-lived streams and probes. */
    inFlightExempt?: boolean;
  }
}

export interface Rate {
  perSecond: number;
  burst: number;
}

export interface LimitOptions {
  rateLimits: boolean;
  user: Rate;
  address: Rate;
  /** GET …/seats per address. */
  seatList: Rate;
  inFlightMax: number;
  /** Fastify's trustProxy: which address X-Forwarded-For may name (the per-address bucket's key). */
  trustProxy: boolean | string | ((address: string, hop: number) => boolean);
  /** Open connections per socket address; 0: no limit. */
  connectionsPerAddressMax: number;
  /** Receiving a request's headers / all of it (Node's headersTimeout, requestTimeout). */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** How often Node looks for requests past those timeouts. */
  connectionsCheckingIntervalMs: number;
  /** Live streams per client address and per signed-in user; 0: no limit. */
  streams: { perAddressMax: number; perUserMax: number };
}

const overloaded = () =>
  new DomainError('OVERLOADED', 'this server is answering as many requests as it can; retry shortly', {
    retry_after_seconds: 1,
  });

export function registerLimits(app: FastifyInstance, limiter: RateLimiter, clock: Clock, options: LimitOptions) {
  let inFlight = 0;
  const done = () => {
    inFlight -= 1;
  };
  // Callback hooks, not async ones: they run on every request, and need no promise.
  app.addHook('onRequest', (request, reply, next) => {
    if (request.routeOptions.config.inFlightExempt || inFlight < options.inFlightMax) return next();
    next(overloaded());
  });
  app.addHook('preValidation', (request, reply, next) => {
    if (request.routeOptions.config.inFlightExempt) return next();
    if (inFlight >= options.inFlightMax) return next(overloaded());
    if (reply.raw.destroyed) return next(); // gone already: its close will not come again
    inFlight += 1;
    reply.raw.once('close', done);
    next();
  });

  if (options.rateLimits) {
    app.addHook('preValidation', async (request) => {
      const limited = request.routeOptions.config.rateLimited;
      if (!limited) return;
      await takeTokens(
        request,
        limiter,
        clock.nowMs(),
        limited === 'seat-list' ? seatListBuckets : hotBuckets,
        options,
      );
    });
  }
  return { inFlight: () => inFlight };
}

function hotBuckets(request: FastifyRequest, options: LimitOptions): BucketRequest[] {
  const { user, address } = options;
  const buckets = [{ key: `ip:${request.ip}`, ratePerSecond: address.perSecond, burst: address.burst }];
  if (request.user) buckets.push({ key: `user:${request.user.id}`, ratePerSecond: user.perSecond, burst: user.burst });
  return buckets;
}

function seatListBuckets(request: FastifyRequest, options: LimitOptions): BucketRequest[] {
  return [{ key: `seats:ip:${request.ip}`, ratePerSecond: options.seatList.perSecond, burst: options.seatList.burst }];
}

async function takeTokens(
  request: FastifyRequest,
  limiter: RateLimiter,
  nowMs: number,
  bucketsOf: (request: FastifyRequest, options: LimitOptions) => BucketRequest[],
  options: LimitOptions,
) {
  const waits = await limiter.take(bucketsOf(request, options), nowMs);
  const waitMs = Math.max(...waits);
  if (waitMs > 0) {
    const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
    throw new DomainError('RATE_LIMITED', `too many requests; retry in ${retryAfterSeconds} s`, {
      retry_after_seconds: retryAfterSeconds,
      limit: (waits[1] ?? 0) > 0 ? 'user' : 'address',
    });
  }
}
