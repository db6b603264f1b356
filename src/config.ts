// The one place that reads process.env. Validated once at boot; a bad value stops the
// start with a message that names the variable.
import { Type, type Static } from 'typebox';
import { Compile } from 'typebox/compile';

const Integer = (minimum: number, maximum: number, fallback: number) =>
  Type.Integer({ minimum, maximum, default: fallback });

const ConfigSchema = Type.Object({
  PORT: Integer(0, 65535, 3000),
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATABASE_POOL_MAX: Integer(1, 500, 20),
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
  AUTH_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  AUTH_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  // Internal: the primary of a WORKERS>1 demo-mode server shares its random secret with
  // its workers through this, so a token minted by one worker is valid on all of them.
  DEMO_AUTH_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  AUTH_ISSUER: Type.Optional(Type.String({ minLength: 1 })),
  AUTH_AUDIENCE: Type.Optional(Type.String({ minLength: 1 })),
  HOLD_TTL_SECONDS: Integer(1, 86_400, 600),
  PAYMENT_PROVIDER: Type.Union([Type.Literal('test')], { default: 'test' }),
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
  ADMIT_TICK_MS: Integer(10, 60_000, 250),
  ADMIT_BATCH_MAX: Integer(1, 100_000, 1_000),
  QUEUE_STREAM_INTERVAL_MS: Integer(100, 60_000, 1_000),
  RATE_LIMITS: Type.Union([Type.Literal('on'), Type.Literal('off')], { default: 'on' }),
  // shared: buckets in Redis (one limit across every process); process: each process its own
  // buckets (no Redis call per request; a client spread over N processes gets up to N times).
  RATE_LIMIT_SCOPE: Type.Union([Type.Literal('shared'), Type.Literal('process')], { default: 'shared' }),
  RATE_LIMIT_USER_PER_SECOND: Integer(1, 1_000_000, 5),
  RATE_LIMIT_USER_BURST: Integer(1, 1_000_000, 10),
  RATE_LIMIT_IP_PER_SECOND: Integer(1, 1_000_000, 100),
  RATE_LIMIT_IP_BURST: Integer(1, 1_000_000, 200),
  IN_FLIGHT_MAX: Integer(1, 1_000_000, 1_000),
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

/** True when no identity provider is configured: the server mints its own tokens. */
export function isDemoMode(config: Config): boolean {
  return !config.AUTH_SECRET && !config.AUTH_JWKS_URL;
}
