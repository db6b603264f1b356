// Backpressure and rate limits, checked before any work is done for a request.
//
// In flight: each process answers at most inFlightMax requests at once; the next one gets
// 503 with Retry-After at once, instead of a queue that grows until every request times
// out. Live streams, health and metrics are not counted (they must stay reachable).
//
// Rate limits: routes marked `config: { rateLimited: true }` (the hot, costly ones) take
// a token from the caller's address bucket and, when signed in, from the user's bucket;
// an empty bucket is 429 with Retry-After. Buckets live in Redis when there is one (so the
// limit holds across processes), else in this process.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Clock, RateLimiter } from '../../app/ports.ts';
import { DomainError } from '../../domain/errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Take a token from the caller's address and user buckets first. */
    rateLimited?: boolean;
    /** Not counted against the in-flight limit: long-lived streams and probes. */
    inFlightExempt?: boolean;
  }
}

export interface LimitOptions {
  rateLimits: boolean;
  user: { perSecond: number; burst: number };
  address: { perSecond: number; burst: number };
  inFlightMax: number;
  /** Fastify's trustProxy: which address X-Forwarded-For may name (the per-address bucket's key). */
  trustProxy: boolean | string | ((address: string, hop: number) => boolean);
}

export function registerLimits(app: FastifyInstance, limiter: RateLimiter, clock: Clock, options: LimitOptions) {
  let inFlight = 0;
  const done = () => {
    inFlight -= 1;
  };
  // A callback hook, not an async one: it runs on every request, and needs no promise.
  app.addHook('onRequest', (request, reply, next) => {
    if (request.routeOptions.config.inFlightExempt) return next();
    if (inFlight >= options.inFlightMax) {
      return next(
        new DomainError('OVERLOADED', 'this server is answering as many requests as it can; retry shortly', {
          retry_after_seconds: 1,
        }),
      );
    }
    inFlight += 1;
    reply.raw.once('close', done);
    next();
  });

  if (options.rateLimits) {
    app.addHook('preValidation', async (request) => {
      if (!request.routeOptions.config.rateLimited) return;
      await takeTokens(request, limiter, clock.nowMs(), options);
    });
  }
  return { inFlight: () => inFlight };
}

async function takeTokens(request: FastifyRequest, limiter: RateLimiter, nowMs: number, options: LimitOptions) {
  const { user, address } = options;
  const buckets = [{ key: `ip:${request.ip}`, ratePerSecond: address.perSecond, burst: address.burst }];
  if (request.user) buckets.push({ key: `user:${request.user.id}`, ratePerSecond: user.perSecond, burst: user.burst });
  const waits = await limiter.take(buckets, nowMs);
  const waitMs = Math.max(...waits);
  if (waitMs > 0) {
    const retryAfterSeconds = Math.max(1, Math.ceil(waitMs / 1000));
    throw new DomainError('RATE_LIMITED', `too many requests; retry in ${retryAfterSeconds} s`, {
      retry_after_seconds: retryAfterSeconds,
      limit: (waits[1] ?? 0) > 0 ? 'user' : 'address',
    });
  }
}
