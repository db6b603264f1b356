// The composition root: picks the adapters the configuration asks for and wires the
// use cases to them. Used by server.ts, by the tests and by the benchmarks.
import { randomBytes } from 'node:crypto';
import { systemClock } from './adapters/clock/system-clock.ts';
import { MemoryRateLimiter } from './adapters/memory/rate-limiter.ts';
import { MemoryWaitingRoom } from './adapters/memory/waiting-room.ts';
import { RedisRateLimiter } from './adapters/redis/rate-limiter.ts';
import { RedisWaitingRoom } from './adapters/redis/waiting-room.ts';
import { JoseAdmissionTokens } from './adapters/tokens/jose-admission-tokens.ts';
import { MemorySeatBoard } from './adapters/memory/seat-board.ts';
import { RedisSeatBoard } from './adapters/redis/seat-board.ts';
import { commandClientOptions, connectRedis, type RedisTarget } from './adapters/redis/client.ts';
import { RedisCatalogCache } from './adapters/redis/catalog-cache.ts';
import { MemoryCatalogCache } from './adapters/memory/catalog-cache.ts';
import { PostgresCatalogStore } from './adapters/postgres/catalog-store.ts';
import { TestPayments } from './adapters/payments/test-payments.ts';
import { StripePayments } from './adapters/payments/stripe-payments.ts';
import { PostgresPaymentLedger } from './adapters/postgres/payment-ledger.ts';
import { PostgresBookingStore } from './adapters/postgres/booking-store.ts';
import { PostgresEventStore } from './adapters/postgres/event-store.ts';
import { PostgresIdempotencyStore } from './adapters/postgres/idempotency-store.ts';
import { PostgresReservationStore } from './adapters/postgres/reservation-store.ts';
import { CachedEventStore, CacheKeepingCatalog } from './adapters/cache/event-cache.ts';
import { type Database, openDatabase } from './adapters/postgres/database.ts';
import { migrate } from './adapters/postgres/migrate.ts';
import type { Deps, Settings } from './app/deps.ts';
import { handleWebhook } from './app/payments.ts';
import type { CatalogCache } from './app/ports/catalog.ts';
import type { EventStore } from './app/ports/events.ts';
import type { Clock } from './app/ports/clock.ts';
import type { Payments } from './app/ports/payments.ts';
import type { SeatBoard, SeatStateLoader } from './app/ports/seat-board.ts';
import type { Config } from './config.ts';
import type { SeatFeedHubOptions } from './app/seat-feed-hub.ts';
import { sendDueMails } from './app/notifications.ts';
import { DatabaseBus } from './adapters/postgres/outbox.ts';
import { PostgresMailQueue, notificationsConsumer } from './adapters/postgres/mail-queue.ts';
import { PostgresTicketStore } from './adapters/postgres/ticket-store.ts';
import { PostgresSeatBlockStore } from './adapters/postgres/seat-block-store.ts';
import { PostgresEventStats, statsConsumer } from './adapters/postgres/event-stats.ts';
import { RedisStreamBus } from './adapters/bus/redis-stream-bus.ts';
import type { FactBus, FactConsumer } from './adapters/bus/fact-bus.ts';
import { FactWorkers } from './adapters/bus/fact-workers.ts';
import { PdfTicketDocuments } from './adapters/documents/ticket-documents.ts';
import { createMailer } from './adapters/mail/mailers.ts';
import { MemoryMailer } from './adapters/memory/mailer.ts';
import { HmacTicketCodes, parseTicketSigningKeys } from './adapters/tokens/hmac-ticket-codes.ts';
import type { Mailer } from './app/ports/notifications.ts';
import { AltchaJoinChallenges } from './adapters/tokens/altcha-challenges.ts';
import { MemorySpentChallenges } from './adapters/memory/spent-challenges.ts';
import { RedisSpentChallenges } from './adapters/redis/spent-challenges.ts';
import { storedServiceSecret } from './adapters/postgres/service-secrets.ts';

/** A figure the adapters keep, published at /metrics when scraped. */
export interface RuntimeGauge {
  name: string;
  help: string;
  count(): number;
}

export interface Runtime {
  db: Database;
  deps: Deps;
  /** The write batches (group commit) sent, and the requests in them. */
  gauges: RuntimeGauge[];
  /** Re-reads the failing refunds for the refunds_failing gauge (the sweeper calls it). */
  refreshFailingRefunds(): Promise<void>;
  /** The outbox relay, the bus's consumers and the mail sender (started by the server). */
  facts: FactWorkers;
  close(): Promise<void>;
}

export interface RuntimeOverrides {
  clock?: Clock;
  payments?: Payments;
  /** PostgreSQL schema to work in (tests give every run its own). */
  searchPath?: string;
  /** Random 32-bit words for the pre-queue draw (tests seed it). */
  randomWord?: () => number;
  /** Where the seat board reports Redis trouble (it never throws it). */
  onBoardError?: (error: unknown, context: string) => void;
  /** Sends the mail (tests: to wrap the real mailer). */
  mailer?: Mailer;
  /** The bus the relay publishes to (tests: to wrap the real one). */
  wrapBus?: (bus: FactBus) => FactBus;
  /** The bus's consumers (tests: to wrap the real ones). */
  wrapConsumer?: (consumer: FactConsumer) => FactConsumer;
}

export function settingsFrom(config: Config): Settings {
  return {
    holdTtlMs: config.HOLD_TTL_SECONDS * 1000,
    seatsPerHoldMax: config.SEATS_PER_HOLD_MAX,
    seatMapLimits: {
      seatsPerEventMax: config.SEATS_PER_EVENT_MAX,
      sectionsPerEventMax: config.SECTIONS_PER_EVENT_MAX,
      rowsPerSectionMax: config.ROWS_PER_SECTION_MAX,
      seatsPerRowMax: config.SEATS_PER_ROW_MAX,
    },
    idempotencyInFlightStaleMs: config.IDEMPOTENCY_IN_FLIGHT_STALE_MS,
    holdGate: config.HOLD_GATE === 'on',
    admitter: { tickMs: config.ADMIT_TICK_MS, batchMax: config.ADMIT_BATCH_MAX },
    queueStreamIntervalMs: config.QUEUE_STREAM_INTERVAL_MS,
    statsStreamIntervalMs: config.STATS_STREAM_INTERVAL_MS,
    seatList: { seatsMax: config.SEAT_LIST_SEATS_MAX, maxAgeMs: config.SEAT_LIST_MAX_AGE_MS },
    paymentPendingGraceMs: config.PAYMENT_PENDING_GRACE_SECONDS * 1000,
    refundRetry: { baseMs: config.REFUND_RETRY_BASE_MS, maxMs: config.REFUND_RETRY_MAX_MS },
    reconcileAfterMs: config.PAYMENT_RECONCILE_AFTER_SECONDS * 1000,
    mailRetry: { baseMs: config.MAIL_RETRY_BASE_MS, maxMs: config.MAIL_RETRY_MAX_MS },
  };
}

export function liveOptionsFrom(config: Config): SeatFeedHubOptions {
  return {
    maxSubscribers: config.SSE_MAX_SUBSCRIBERS,
    minIntervalMs: config.SSE_MIN_INTERVAL_MS,
    heartbeatMs: config.SSE_HEARTBEAT_MS,
    maxBufferedBytes: config.SSE_MAX_BUFFERED_BYTES,
    recentMax: config.SEAT_CHANGE_LOG_MAX,
    degradedPollMs: 2_000,
  };
}

/** REDIS_URL: one URL, or with REDIS_CLUSTER=true the cluster's seed nodes, comma-separated. */
function redisTargetOf(url: string, config: Config): RedisTarget {
  return { urls: url.split(','), cluster: config.REDIS_CLUSTER === 'true' };
}

/** Hot catalog answers: in Redis (shared) when REDIS_URL is set, else in this process. */
export function createCatalogCache(
  config: Config,
  clock: Clock,
  onError: (error: unknown, context: string) => void,
): CatalogCache {
  if (!config.REDIS_URL) return new MemoryCatalogCache(clock, config.CATALOG_CACHE_TTL_MS);
  const client = connectRedis(
    redisTargetOf(config.REDIS_URL, config),
    commandClientOptions(config.REDIS_COMMAND_TIMEOUT_MS),
  );
  client.on('error', (error) => onError(error, 'redis catalog cache'));
  return new RedisCatalogCache(client, config.REDIS_KEY_PREFIX, config.CATALOG_CACHE_TTL_MS, onError);
}

/** The waiting room and rate limits: in Redis (shared) when REDIS_URL is set, else in this process. */
export function createCrowdControl(config: Config, onError: (error: unknown, context: string) => void) {
  if (!config.REDIS_URL) {
    return {
      waitingRoom: new MemoryWaitingRoom(),
      rateLimiter: new MemoryRateLimiter(),
      spentChallenges: new MemorySpentChallenges(),
      close: async () => {},
    };
  }
  const client = connectRedis(redisTargetOf(config.REDIS_URL, config), {
    ...commandClientOptions(config.REDIS_COMMAND_TIMEOUT_MS),
    // Joins and rate-limit checks of many requests in one tick go out as one write.
    enableAutoPipelining: true,
  });
  client.on('error', (error) => onError(error, 'redis waiting room'));
  return {
    waitingRoom: new RedisWaitingRoom(client, config.REDIS_KEY_PREFIX),
    spentChallenges: new RedisSpentChallenges(client, config.REDIS_KEY_PREFIX),
    rateLimiter:
      config.RATE_LIMIT_SCOPE === 'shared'
        ? new RedisRateLimiter(client, config.REDIS_KEY_PREFIX, onError)
        : new MemoryRateLimiter(),
    close: async () => client.disconnect(),
  };
}

/** The secret admission tokens are signed with (see JoseAdmissionTokens for the derived key). */
export function admissionSecretOf(config: Config): string {
  return config.ADMISSION_SECRET ?? config.AUTH_SECRET ?? randomBytes(32).toString('base64url');
}

type WebhookListener = (payload: string, signature: string) => void;

function onWebhook(payments: Payments, listener: WebhookListener): () => void {
  const provider = payments as Partial<{ onWebhook(listener: WebhookListener): () => void }>;
  return typeof provider.onWebhook === 'function' ? provider.onWebhook(listener) : () => {};
}

/** The payment provider PAYMENT_PROVIDER names. */
export function createPayments(config: Config): Payments {
  if (config.PAYMENT_PROVIDER === 'stripe') {
    return new StripePayments({
      secretKey: config.STRIPE_SECRET_KEY!,
      webhookSecret: config.STRIPE_WEBHOOK_SECRET!,
      apiBase: config.STRIPE_API_BASE,
      timeoutMs: config.PAYMENT_TIMEOUT_MS,
    });
  }
  return new TestPayments(config.STRIPE_WEBHOOK_SECRET ? { webhookSecret: config.STRIPE_WEBHOOK_SECRET } : {});
}

/** Redis when REDIS_URL is set, else the in-process board; either rebuilds from the store. */
export function createSeatBoard(
  config: Config,
  events: EventStore,
  clock: Clock,
  onError: (error: unknown, context: string) => void,
): SeatBoard {
  const loader: SeatStateLoader = async (eventId) => {
    const event = await events.findEvent(eventId);
    if (!event) return { seatCount: 0, states: [] };
    return { seatCount: event.seatCount, states: await events.seatStates(eventId, clock.nowMs()) };
  };
  const common = { loader, clock, pendingMs: config.HOLD_GATE_PENDING_MS, logMax: config.SEAT_CHANGE_LOG_MAX };
  if (!config.REDIS_URL) return new MemorySeatBoard(common);
  return new RedisSeatBoard({
    ...common,
    ...redisTargetOf(config.REDIS_URL, config),
    keyPrefix: config.REDIS_KEY_PREFIX,
    commandTimeoutMs: config.REDIS_COMMAND_TIMEOUT_MS,
    onError,
  });
}

/** The bus: Redis Streams when REDIS_URL is set, else the database's own log. */
export function createFactBus(config: Config, db: Database): FactBus {
  if (!config.REDIS_URL) return new DatabaseBus(db);
  const target = redisTargetOf(config.REDIS_URL, config);
  const commands = commandClientOptions(config.REDIS_COMMAND_TIMEOUT_MS);
  const client = connectRedis(target, commands);
  // Blocking reads outlast any command timeout; they fail fast while Redis is away.
  const reader = connectRedis(target, { ...commands, commandTimeout: undefined });
  client.on('error', () => {});
  reader.on('error', () => {});
  return new RedisStreamBus(db, client, reader, {
    keyPrefix: config.REDIS_KEY_PREFIX,
    claimIdleMs: config.BUS_CLAIM_IDLE_MS,
    streamLengthMax: 1_000_000,
    batchMax: config.OUTBOX_BATCH_MAX,
  });
}

/** The door's challenges, signed with ALTCHA_HMAC_KEY, else a key made once and kept in the database. */
async function joinChallengesFor(config: Config, db: Database): Promise<AltchaJoinChallenges> {
  return new AltchaJoinChallenges({
    secret: config.ALTCHA_HMAC_KEY ?? (await storedServiceSecret(db, 'altcha_hmac_key')),
    expiresMs: config.ALTCHA_EXPIRES_SECONDS * 1000,
    maxNumber: config.ALTCHA_MAX_NUMBER,
  });
}

/** TICKET_SIGNING_KEYS, else a key made once and kept in the database. */
async function ticketCodesFor(config: Config, tickets: PostgresTicketStore): Promise<HmacTicketCodes> {
  if (config.TICKET_SIGNING_KEYS) return new HmacTicketCodes(parseTicketSigningKeys(config.TICKET_SIGNING_KEYS));
  return new HmacTicketCodes([{ id: 'db', secret: await tickets.storedSigningSecret() }]);
}

export async function createRuntime(config: Config, overrides: RuntimeOverrides = {}): Promise<Runtime> {
  const db = await openDatabase(config, overrides.searchPath);
  try {
    await migrate(db);
  } catch (error) {
    await db.close().catch(() => {});
    throw error;
  }
  const clock = overrides.clock ?? systemClock;
  const catalogCache = createCatalogCache(config, clock, overrides.onBoardError ?? (() => {}));
  const events = new CachedEventStore(new PostgresEventStore(db), {
    ttlMs: 1_000,
    entriesMax: 10_000,
    catalogChanged: () => catalogCache.invalidate(),
  });
  const board = createSeatBoard(config, events, clock, overrides.onBoardError ?? (() => {}));
  const writeBatching = { windowMs: config.WRITE_BATCH_WINDOW_MS, max: config.WRITE_BATCH_MAX };
  const reservations = new PostgresReservationStore(db, writeBatching);
  const bookings = new PostgresBookingStore(db, writeBatching);
  const ledger = new PostgresPaymentLedger(db, writeBatching);
  const batchStats = () => ({ ...reservations.batchStats(), ...bookings.batchStats(), ...ledger.batchStats() });
  const gauges: RuntimeGauge[] = (['holds', 'begins', 'confirms', 'settles'] as const).flatMap((kind) => [
    {
      name: `write_batches_${kind}_total`,
      help: `Batch statements (group commit) sent for ${kind}; a request sent alone counts as one`,
      count: () => batchStats()[kind].batches,
    },
    {
      name: `write_batch_${kind}_requests_total`,
      help: `Requests written through the ${kind} batches`,
      count: () => batchStats()[kind].requests,
    },
  ]);
  const crowd = createCrowdControl(config, overrides.onBoardError ?? (() => {}));
  const tickets = new PostgresTicketStore(db);
  const mailer =
    overrides.mailer ??
    (!config.SMTP_URL && config.DATA_DIR.startsWith('memory://')
      ? new MemoryMailer()
      : createMailer({ smtpUrl: config.SMTP_URL, dataDir: config.DATA_DIR, from: config.MAIL_FROM }));
  const deps: Deps = {
    events,
    reservations,
    idempotency: new PostgresIdempotencyStore(db),
    bookings,
    ledger,
    database: { ping: async () => void (await db.query('SELECT 1')) },
    catalog: new CacheKeepingCatalog(new PostgresCatalogStore(db), events),
    catalogCache,
    board,
    payments: overrides.payments ?? createPayments(config),
    clock,
    waitingRoom: crowd.waitingRoom,
    admissionTokens: new JoseAdmissionTokens(admissionSecretOf(config)),
    joinChallenges: await joinChallengesFor(config, db),
    spentChallenges: crowd.spentChallenges,
    rateLimiter: crowd.rateLimiter,
    randomWord: overrides.randomWord ?? (() => randomBytes(4).readUInt32BE(0)),
    settings: settingsFrom(config),
    tickets,
    ticketCodes: await ticketCodesFor(config, tickets),
    documents: new PdfTicketDocuments(),
    mailQueue: new PostgresMailQueue(db),
    mailer,
    stats: new PostgresEventStats(db),
    seatBlocks: new PostgresSeatBlockStore(db),
  };
  const bus = (overrides.wrapBus ?? ((bus: FactBus) => bus))(createFactBus(config, db));
  const facts = new FactWorkers({
    db,
    bus,
    consumers: [notificationsConsumer, statsConsumer].map(overrides.wrapConsumer ?? ((consumer) => consumer)),
    relayBatchMax: config.OUTBOX_BATCH_MAX,
    idleMs: config.OUTBOX_IDLE_MS,
    sendMail: () => sendDueMails(deps, { batchSize: 50, webUrl: config.PUBLIC_URL }),
    mailIntervalMs: 250,
    retentionMs: config.OUTBOX_RETENTION_HOURS * 3_600_000,
    onError: overrides.onBoardError ?? (() => {}),
  });
  await facts.register().catch((error: unknown) => overrides.onBoardError?.(error, 'bus registration'));
  gauges.push(
    {
      name: 'outbox_published_total',
      help: 'Facts this process relayed from the outbox to the bus',
      count: () => facts.figures.published,
    },
    {
      name: 'outbox_unpublished_facts',
      help: 'Facts committed to the outbox and not yet on the bus (the relay lag, in facts)',
      count: () => facts.figures.unpublished,
    },
    {
      name: 'outbox_oldest_unpublished_seconds',
      help: 'Age of the oldest fact not yet on the bus (the relay lag, in time)',
      count: () => facts.figures.oldestUnpublishedMs / 1000,
    },
    {
      name: 'bus_notifications_lag_facts',
      help: 'Facts on the bus the notifications consumer has not applied yet',
      count: () => facts.figures.lag.get(notificationsConsumer.name) ?? 0,
    },
    {
      name: 'bus_notifications_applied_total',
      help: 'Facts the notifications consumer of this process read from the bus',
      count: () => facts.figures.applied.get(notificationsConsumer.name) ?? 0,
    },
    {
      name: 'bus_stats_lag_facts',
      help: "Facts on the bus the stats consumer (the organizer's sale figures) has not applied yet",
      count: () => facts.figures.lag.get(statsConsumer.name) ?? 0,
    },
    {
      name: 'bus_stats_applied_total',
      help: 'Facts the stats consumer of this process read from the bus',
      count: () => facts.figures.applied.get(statsConsumer.name) ?? 0,
    },
  );
  gauges.push({
    name: 'refunds_failing',
    help: 'Refunds the provider refused or did not answer, waiting for their next try',
    count: () => failingRefunds,
  });
  // Read by the sweeper (an async figure cannot be read at scrape time by count()).
  let failingRefunds = 0;
  const refreshFailingRefunds = async () => {
    failingRefunds = await ledger.failingRefunds();
  };
  // The test provider delivers its webhook events in this process, signed as Stripe signs
  // them, to the same handler POST /v1/payments/webhook uses (a failure is retried by it).
  const stopWebhooks = onWebhook(deps.payments, (payload, signature) =>
    handleWebhook(deps, payload, signature).then(
      () => {},
      (error: unknown) => {
        // Reported, and refused as a failing endpoint would be: the provider delivers it again.
        overrides.onBoardError?.(error, 'test payment webhook');
        throw error;
      },
    ),
  );
  const close = async () => {
    stopWebhooks();
    await facts.stop();
    await bus.close();
    await mailer.close();
    await board.close();
    await catalogCache.close();
    await crowd.waitingRoom.close();
    await crowd.rateLimiter.close();
    await crowd.spentChallenges.close();
    await crowd.close();
    await db.close();
  };
  return { db, deps, gauges, refreshFailingRefunds, facts, close };
}
