// The one place that reads process.env. Validated once at boot; a bad value stops the
// start with a message that names the variable.
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';
import { admissionAudience } from './adapters/tokens/jose-admission-tokens.ts';

const Integer = (minimum: number, maximum: number, fallback: number) =>
  Type.Integer({ minimum, maximum, default: fallback });

const ConfigSchema = Type.Object({
  PORT: Integer(0, 65535, 3000),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATABASE_POOL_MAX: Integer(1, 500, 20),
  // Group commit: the holds (and, separately, each step of a confirmation) that arrive
  // within this window, up to this many, are written as one statement and one commit.
  // WRITE_BATCH_MAX=1: every write on its own.
  WRITE_BATCH_WINDOW_MS: Integer(0, 100, 2),
  WRITE_BATCH_MAX: Integer(1, 1_000, 32),
  DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  // One URL, or with REDIS_CLUSTER=true the comma-separated seed nodes of a cluster.
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://[^,\\s]+(,rediss?://[^,\\s]+)*$' })),
  REDIS_CLUSTER: Type.Union([Type.Literal('true'), Type.Literal('false')], { default: 'false' }),
  REDIS_KEY_PREFIX: Type.String({ pattern: '^[A-Za-z0-9:_.-]{0,64}$', default: 'bx:' }),
  REDIS_COMMAND_TIMEOUT_MS: Integer(10, 60_000, 500),
  HOLD_GATE: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
  HOLD_GATE_PENDING_MS: Integer(100, 600_000, 5_000),
  SEAT_CHANGE_LOG_MAX: Integer(1, 1_000_000, 2_000),
  CATALOG_CACHE_TTL_MS: Integer(0, 3_600_000, 5_000),
  SSE_MAX_SUBSCRIBERS: Integer(1, 1_000_000, 20_000),
  SSE_MIN_INTERVAL_MS: Integer(0, 60_000, 250),
  SSE_HEARTBEAT_MS: Integer(100, 600_000, 15_000),
  SSE_MAX_BUFFERED_BYTES: Integer(1024, 1024 * 1024 * 1024, 1024 * 1024),
  // Live streams (seat map and waiting room together) one client address / one signed-in
  // user may hold open at once in this process; 429 beyond. 0: no limit.
  SSE_STREAMS_PER_ADDRESS_MAX: Integer(0, 1_000_000, 100),
  SSE_STREAMS_PER_USER_MAX: Integer(0, 1_000_000, 10),
  // GET …/seats: events with more seats than this are pointed to …/availability (409); a
  // built list is shared for this long (changes meanwhile wait for the next build).
  SEAT_LIST_SEATS_MAX: Integer(1, 1_000_000, 20_000),
  SEAT_LIST_MAX_AGE_MS: Integer(0, 60_000, 1_000),
  // GET …/availability: a built document is shared for this long (one build per event per
  // interval; readers may see the map this much old). 0: a fresh build for every change.
  AVAILABILITY_MAX_AGE_MS: Integer(0, 10_000, 100),
  AUTH_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  // https; plain http only to a loopback host (a provider's sidecar, the tests). Needs
  // AUTH_ISSUER and AUTH_AUDIENCE (checked below).
  AUTH_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  // Demo mode: the server makes a random secret and mints any user's token at
  // POST /v1/dev/token. Only when asked for, and only embedded on a loopback address:
  // never with AUTH_SECRET/AUTH_JWKS_URL, DATABASE_URL or a public HOST (checked below).
  DEMO_MODE: Type.Union([Type.Literal('true'), Type.Literal('false')], { default: 'false' }),
  AUTH_ISSUER: Type.Optional(Type.String({ minLength: 1 })),
  AUTH_AUDIENCE: Type.Optional(Type.String({ minLength: 1 })),
  // A sign-in token older than this (by its iat) is refused whatever its exp says.
  AUTH_TOKEN_MAX_AGE_SECONDS: Integer(60, 30 * 86_400, 86_400),
  // How far a token's iat may be ahead of this server's clock.
  AUTH_CLOCK_SKEW_SECONDS: Integer(0, 3_600, 60),
  HOLD_TTL_SECONDS: Integer(1, 86_400, 600),
  // test: the built-in provider (Stripe's states and webhooks, in this process); stripe:
  // the official SDK, with STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET (checked below).
  PAYMENT_PROVIDER: Type.Union([Type.Literal('test'), Type.Literal('stripe')], { default: 'test' }),
  STRIPE_SECRET_KEY: Type.Optional(Type.String({ minLength: 1 })),
  STRIPE_WEBHOOK_SECRET: Type.Optional(Type.String({ minLength: 1 })),
  // Where the SDK sends its calls (tests: a local stand-in); https, plain http only to a
  // loopback host.
  STRIPE_API_BASE: Type.Optional(Type.String({ pattern: '^https?://[^/\\s]+/?$' })),
  // Every call to the payment provider gives up after this long.
  PAYMENT_TIMEOUT_MS: Integer(100, 120_000, 10_000),
  // A payment pending at the provider (3-D Secure, processing) keeps its hold this long.
  PAYMENT_PENDING_GRACE_SECONDS: Integer(10, 86_400, 900),
  // Pending payments no webhook has spoken of for this long are asked of the provider.
  PAYMENT_RECONCILE_AFTER_SECONDS: Integer(1, 86_400, 120),
  // A failed refund is tried again after this, doubling each time up to the max.
  REFUND_RETRY_BASE_MS: Integer(10, 3_600_000, 5_000),
  REFUND_RETRY_MAX_MS: Integer(10, 86_400_000, 600_000),
  // Ticket codes: "kid:secret" pairs, comma-separated, newest first (it signs; the others
  // still verify). Unset: a key made once and kept in the database.
  TICKET_SIGNING_KEYS: Type.Optional(
    Type.String({ pattern: '^[A-Za-z0-9_-]{1,16}:[^,\\s]{32,}(,[A-Za-z0-9_-]{1,16}:[^,\\s]{32,})*$' }),
  ),
  // Mail: smtp(s)://user:pass@host:port; unset: .eml files under DATA_DIR/mail.
  SMTP_URL: Type.Optional(Type.String({ pattern: '^smtps?://' })),
  MAIL_FROM: Type.String({ minLength: 3, maxLength: 254, default: 'Boxoffice <tickets@boxoffice.invalid>' }),
  // Links in mail point here (the web app).
  PUBLIC_URL: Type.String({ pattern: '^https?://', default: 'http://127.0.0.1:3000' }),
  // The outbox relay: facts per batch, and the pause when it found none.
  OUTBOX_BATCH_MAX: Integer(1, 10_000, 500),
  OUTBOX_IDLE_MS: Integer(5, 60_000, 50),
  // Published facts, consumers' records of them and sent mail are forgotten after this.
  OUTBOX_RETENTION_HOURS: Integer(1, 24 * 365, 72),
  // Redis bus: facts a dead process was given and did not acknowledge are taken over by a
  // live one after this long.
  BUS_CLAIM_IDLE_MS: Integer(100, 3_600_000, 30_000),
  // A mail that failed is tried again after this, doubling up to MAIL_RETRY_MAX_MS.
  MAIL_RETRY_BASE_MS: Integer(10, 3_600_000, 5_000),
  MAIL_RETRY_MAX_MS: Integer(10, 86_400_000, 600_000),
  WORKERS: Integer(1, 64, 1),
  LOG_LEVEL: Type.Union(
    ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((level) => Type.Literal(level)),
    { default: 'info' },
  ),
  BODY_LIMIT_BYTES: Integer(1024, 100 * 1024 * 1024, 1024 * 1024),
  EVENT_BODY_LIMIT_BYTES: Integer(1024, 100 * 1024 * 1024, 8 * 1024 * 1024),
  SEATS_PER_EVENT_MAX: Integer(1, 1_000_000, 200_000),
  SECTIONS_PER_EVENT_MAX: Integer(1, 10_000, 500),
  ROWS_PER_SECTION_MAX: Integer(1, 10_000, 1_000),
  SEATS_PER_ROW_MAX: Integer(1, 100_000, 5_000),
  SEATS_PER_HOLD_MAX: Integer(1, 1_000, 20),
  SWEEP_INTERVAL_MS: Integer(50, 60_000, 500),
  SWEEP_BATCH_SIZE: Integer(1, 100_000, 500),
  IDEMPOTENCY_IN_FLIGHT_STALE_MS: Integer(1_000, 3_600_000, 60_000),
  IDEMPOTENCY_KEY_RETENTION_HOURS: Integer(1, 24 * 365, 24),
  SHUTDOWN_TIMEOUT_MS: Integer(100, 120_000, 10_000),
  // Admission tokens are signed with a key derived from this (else from AUTH_SECRET, else
  // random per start: set it when several hosts share one waiting room under AUTH_JWKS_URL).
  ADMISSION_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  // The waiting room's door (an event's waiting_room.challenge): proof-of-work challenges
  // (ALTCHA) are signed with a key derived from this; unset: a key made once and kept in
  // the database (every process and restart agree). A challenge is good for this long, once.
  ALTCHA_HMAC_KEY: Type.Optional(Type.String({ minLength: 32 })),
  ALTCHA_EXPIRES_SECONDS: Integer(10, 3_600, 300),
  // The cost: a solution is a number drawn between half of this and this, which a browser
  // finds by trying every number from 0 (one SHA-256 each); the server checks it with two HMACs.
  ALTCHA_MAX_NUMBER: Integer(1_000, 100_000_000, 50_000),
  ADMIT_TICK_MS: Integer(10, 60_000, 250),
  ADMIT_BATCH_MAX: Integer(1, 100_000, 1_000),
  QUEUE_STREAM_INTERVAL_MS: Integer(100, 60_000, 1_000),
  STATS_STREAM_INTERVAL_MS: Integer(100, 60_000, 1_000),
  RATE_LIMITS: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
  // shared: buckets in Redis (one limit across every process); process: each process its own
  // buckets (no Redis call per request; a client spread over N processes gets up to N times).
  RATE_LIMIT_SCOPE: Type.Union([Type.Literal('shared'), Type.Literal('process')], { default: 'shared' }),
  RATE_LIMIT_USER_PER_SECOND: Integer(1, 1_000_000, 5),
  RATE_LIMIT_USER_BURST: Integer(1, 1_000_000, 10),
  RATE_LIMIT_IP_PER_SECOND: Integer(1, 1_000_000, 100),
  RATE_LIMIT_IP_BURST: Integer(1, 1_000_000, 200),
  IN_FLIGHT_MAX: Integer(1, 1_000_000, 1_000),
  // GET …/seats per client address, a bucket of its own (a list is about 100 bytes a seat).
  RATE_LIMIT_SEAT_LIST_PER_SECOND: Integer(1, 1_000_000, 1),
  RATE_LIMIT_SEAT_LIST_BURST: Integer(1, 1_000_000, 10),
  // Connections one client address (the socket's: behind a proxy, the proxy's) may hold
  // open at once to this process; a connection beyond is closed at once. 0: no limit.
  CONNECTIONS_PER_ADDRESS_MAX: Integer(0, 1_000_000, 256),
  // Receiving a request's headers, and the whole request with its body, may take this
  // long (408 beyond); answers are not timed (live streams run on). Node looks for
  // overdue requests every CONNECTIONS_CHECKING_INTERVAL_MS.
  HEADERS_TIMEOUT_MS: Integer(50, 600_000, 10_000),
  REQUEST_TIMEOUT_MS: Integer(50, 3_600_000, 30_000),
  CONNECTIONS_CHECKING_INTERVAL_MS: Integer(10, 60_000, 1_000),
  // Whose address a request has when it comes through a proxy: false (the socket's), true
  // (the first X-Forwarded-For entry), a number of proxy hops, or the proxies' addresses/CIDRs.
  TRUST_PROXY: Type.String({
    pattern: '^(true|false|\\d{1,2}|[0-9A-Fa-f.:/]+(\\s*,\\s*[0-9A-Fa-f.:/]+)*)$',
    default: 'false',
  }),
  DEMO_EVENT: Type.Union([Type.Literal('auto'), Type.Literal('off')], { default: 'auto' }),
  // The built browser app (vite build); 'off' serves the API alone.
  WEB_APP_DIR: Type.String({ minLength: 1, default: 'web/dist' }),
});

export type Config = Static<typeof ConfigSchema>;

const validator = Compile(ConfigSchema);
const integerKeys = new Set(
  Object.entries(ConfigSchema.properties)
    .filter(([, schema]) => (schema as { type?: string }).type === 'integer')
    .map(([key]) => key),
);

export class ConfigError extends Error {}

/** Reads and validates configuration from an environment-like record. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(ConfigSchema.properties)) {
    const value = env[key];
    if (value === undefined || value === '') continue;
    raw[key] = integerKeys.has(key) && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  }
  const withDefaults = validator.Default(raw);
  if (!validator.Check(withDefaults)) {
    const problems = [...validator.Errors(withDefaults)].map(
      (error) => `${error.instancePath.replace(/^\//, '') || 'config'}: ${error.message}`,
    );
    throw new ConfigError(`Invalid configuration:\n  ${problems.join('\n  ')}`);
  }
  const config = withDefaults as Config;
  if (config.AUTH_SECRET && config.AUTH_JWKS_URL) {
    throw new ConfigError('Invalid configuration: set AUTH_SECRET or AUTH_JWKS_URL, not both');
  }
  if (config.AUTH_JWKS_URL) checkJwksProvider(config);
  if (config.AUTH_AUDIENCE === admissionAudience) {
    throw new ConfigError(
      `Invalid configuration: AUTH_AUDIENCE must not be ${admissionAudience} (the admission tokens' own)`,
    );
  }
  if (config.HEADERS_TIMEOUT_MS > config.REQUEST_TIMEOUT_MS) {
    // Node refuses it too: the headers are part of the request.
    throw new ConfigError('Invalid configuration: HEADERS_TIMEOUT_MS must not be above REQUEST_TIMEOUT_MS');
  }
  if (config.DEMO_MODE === 'true') checkDemoMode(config);
  if (config.PAYMENT_PROVIDER === 'stripe') checkStripe(config);
  if (config.TICKET_SIGNING_KEYS) checkTicketKeys(config.TICKET_SIGNING_KEYS);
  if (config.WORKERS > 1 && (!config.DATABASE_URL || !config.REDIS_URL)) {
    // The embedded PGlite database and the in-process seat board belong to one process;
    // several processes share PostgreSQL and Redis.
    throw new ConfigError(
      'Invalid configuration: WORKERS > 1 needs DATABASE_URL (PostgreSQL) and REDIS_URL (Redis); ' +
        `missing: ${[!config.DATABASE_URL && 'DATABASE_URL', !config.REDIS_URL && 'REDIS_URL'].filter(Boolean).join(', ')}`,
    );
  }
  return config;
}

const loopbackHosts = new Set(['127.0.0.1', '[::1]', 'localhost']);

/**
 * Keys fetched over plain http could be swapped by anyone on the path, and a provider's
 * keys sign tokens for every service it serves: so https (http only to this machine), and
 * the issuer and the audience are checked.
 */
function checkJwksProvider(config: Config): void {
  let url: URL | undefined;
  try {
    url = new URL(config.AUTH_JWKS_URL!);
  } catch {
    throw new ConfigError('Invalid configuration: AUTH_JWKS_URL is not a URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopbackHosts.has(url.hostname))) {
    throw new ConfigError(
      'Invalid configuration: AUTH_JWKS_URL must be https (plain http only for 127.0.0.1, ::1 or localhost)',
    );
  }
  const missing = [!config.AUTH_ISSUER && 'AUTH_ISSUER', !config.AUTH_AUDIENCE && 'AUTH_AUDIENCE'].filter(Boolean);
  if (missing.length > 0) {
    throw new ConfigError(
      `Invalid configuration: AUTH_JWKS_URL needs AUTH_ISSUER and AUTH_AUDIENCE; missing: ${missing.join(', ')}`,
    );
  }
}

/** Stripe needs its keys; its API base may point at a stand-in only on this machine. */
/** Each key id once: a code names the key that verifies it. */
function checkTicketKeys(keys: string): void {
  const ids = keys.split(',').map((entry) => entry.slice(0, entry.indexOf(':')));
  const repeated = ids.filter((id, index) => ids.indexOf(id) !== index);
  if (repeated.length > 0) {
    throw new ConfigError(`Invalid configuration: TICKET_SIGNING_KEYS names key id ${repeated[0]} twice`);
  }
}

function checkStripe(config: Config): void {
  const missing = [
    !config.STRIPE_SECRET_KEY && 'STRIPE_SECRET_KEY',
    !config.STRIPE_WEBHOOK_SECRET && 'STRIPE_WEBHOOK_SECRET',
  ].filter(Boolean);
  if (missing.length > 0) {
    throw new ConfigError(`Invalid configuration: PAYMENT_PROVIDER=stripe needs ${missing.join(' and ')}`);
  }
  if (config.STRIPE_API_BASE) {
    const url = new URL(config.STRIPE_API_BASE);
    if (url.protocol !== 'https:' && !loopbackHosts.has(url.hostname)) {
      throw new ConfigError(
        'Invalid configuration: STRIPE_API_BASE must be https (plain http only for 127.0.0.1, ::1 or localhost)',
      );
    }
  }
}

const loopbackAddresses = new Set(['127.0.0.1', '::1', 'localhost']);

/** Anyone who reaches a demo server signs in as anyone, admin included: a laptop only. */
function checkDemoMode(config: Config): void {
  const conflicts = [
    config.AUTH_SECRET && 'AUTH_SECRET is set (demo mode mints its own tokens)',
    config.AUTH_JWKS_URL && 'AUTH_JWKS_URL is set (demo mode mints its own tokens)',
    config.DATABASE_URL && 'DATABASE_URL is set (demo mode runs on the embedded database only)',
    !loopbackAddresses.has(config.HOST) && `HOST ${config.HOST} is not a loopback address (127.0.0.1, ::1)`,
  ].filter(Boolean);
  if (conflicts.length > 0) {
    throw new ConfigError(`Invalid configuration: DEMO_MODE=true refused: ${conflicts.join('; ')}`);
  }
}

/**
 * What a serving process needs beyond a valid configuration: someone who signs users in.
 * Demo mode is never a fallback; it is asked for (npm start asks for it on a fresh
 * machine, see askForDemoModeWhenUnconfigured in src/http/server.ts).
 */
export function checkServable(config: Config): void {
  if (config.DEMO_MODE !== 'true' && !config.AUTH_SECRET && !config.AUTH_JWKS_URL) {
    throw new ConfigError(
      'Invalid configuration: no identity provider: set AUTH_SECRET (HS256) or AUTH_JWKS_URL (with AUTH_ISSUER and ' +
        'AUTH_AUDIENCE), or DEMO_MODE=true for a local demo on the embedded database',
    );
  }
}

/** True when demo mode was asked for: the server mints its own tokens. */
export function isDemoMode(config: Config): boolean {
  return config.DEMO_MODE === 'true';
}
