// What the HTTP layer takes from the configuration: the authenticator and the limits.
// server.ts and the test harness build the app with these; the composition root
// (runtime.ts) knows nothing of HTTP.
import { type Config, isDemoMode } from '../config.ts';
import { type Authenticator, createAuthenticator } from './plugins/auth.ts';
import type { LimitOptions } from './plugins/limits.ts';

export function authenticatorFrom(config: Config): Authenticator {
  return createAuthenticator({
    secret: config.AUTH_SECRET,
    demo: isDemoMode(config),
    jwksUrl: config.AUTH_JWKS_URL,
    issuer: config.AUTH_ISSUER,
    audience: config.AUTH_AUDIENCE,
    tokenMaxAgeSeconds: config.AUTH_TOKEN_MAX_AGE_SECONDS,
    clockSkewSeconds: config.AUTH_CLOCK_SKEW_SECONDS,
  });
}

/** TRUST_PROXY as Fastify takes it: a number of hops becomes "trust the first n hops". */
function trustProxyFrom(value: string): LimitOptions['trustProxy'] {
  if (value === 'true' || value === 'false') return value === 'true';
  if (!/^\d+$/.test(value)) return value;
  const hops = Number(value);
  return (_address, hop) => hop < hops;
}

export function limitsFrom(config: Config): LimitOptions {
  return {
    rateLimits: config.RATE_LIMITS === 'on',
    user: { perSecond: config.RATE_LIMIT_USER_PER_SECOND, burst: config.RATE_LIMIT_USER_BURST },
    address: { perSecond: config.RATE_LIMIT_IP_PER_SECOND, burst: config.RATE_LIMIT_IP_BURST },
    seatList: { perSecond: config.RATE_LIMIT_SEAT_LIST_PER_SECOND, burst: config.RATE_LIMIT_SEAT_LIST_BURST },
    inFlightMax: config.IN_FLIGHT_MAX,
    trustProxy: trustProxyFrom(config.TRUST_PROXY),
    connectionsPerAddressMax: config.CONNECTIONS_PER_ADDRESS_MAX,
    headersTimeoutMs: config.HEADERS_TIMEOUT_MS,
    requestTimeoutMs: config.REQUEST_TIMEOUT_MS,
    connectionsCheckingIntervalMs: config.CONNECTIONS_CHECKING_INTERVAL_MS,
    streams: { perAddressMax: config.SSE_STREAMS_PER_ADDRESS_MAX, perUserMax: config.SSE_STREAMS_PER_USER_MAX },
  };
}
