// Builds the Fastify application. server.ts starts it; tests inject() into it.
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyServerOptions } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { Deps } from '../app/deps.ts';
import { type Authenticator, registerAuth } from './plugins/auth.ts';
import { registerQuietConnectionClose } from './plugins/quiet-connections.ts';
import { answerClientError, registerConnectionLimit } from './plugins/connections.ts';
import { registerMetrics } from './plugins/metrics.ts';
import { paymentRoutes } from './routes/payments.ts';
import { ticketRoutes } from './routes/tickets.ts';
import { type NotFoundFallback, registerProblemHandlers, sendProblem } from './plugins/problems.ts';
import { registerWebApp, wantsAppPage } from './plugins/web-app.ts';
import { eventRoutes } from './routes/events.ts';
import { operationsRoutes } from './routes/operations.ts';
import { reservationRoutes } from './routes/reservations.ts';
import { seatMapRoutes } from './routes/seat-maps.ts';
import { availabilityMaxAgeMsDefault } from './availability-cache.ts';
import { catalogRoutes } from './routes/catalog.ts';
import { registerCaching } from './plugins/caching.ts';
import { SeatFeedHub, type SeatFeedHubOptions } from '../app/seat-feed-hub.ts';
import { systemClock } from '../adapters/clock/system-clock.ts';
import { QueueFeedHub } from '../app/queue-feed-hub.ts';
import { StreamSlots } from '../app/stream-slots.ts';
import { type LimitOptions, registerLimits } from './plugins/limits.ts';
import { queueRoutes } from './routes/queue.ts';
import { StatsFeedHub } from '../app/stats-feed-hub.ts';
import { statsRoutes } from './routes/stats.ts';
import { blockRoutes } from './routes/blocks.ts';

// ajv-formats ships CommonJS with a default export; under NodeNext it arrives wrapped.
const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (
  ajv: Ajv,
) => Ajv;

export interface AppOptions {
  deps: Deps;
  authenticator: Authenticator;
  bodyLimitBytes: number;
  eventBodyLimitBytes: number;
  logger: FastifyServerOptions['logger'];
  live: SeatFeedHubOptions;
  limits: LimitOptions;
  /** The built browser app to serve at `/` (WEB_APP_DIR); absent or 'off': the API alone. */
  webAppDir?: string;
  /** Figures the adapters keep (the write batches), published at /metrics. */
  gauges?: { name: string; help: string; count(): number }[];
  /** How long a built availability document is shared (AVAILABILITY_MAX_AGE_MS). */
  availabilityMaxAgeMs?: number;
}

function makeAjv(coerceTypes: boolean | 'array') {
  // Bodies are strict: "5" is not 5 and unknown fields are refused, never stripped.
  const ajv = new Ajv({ coerceTypes, useDefaults: true, removeAdditional: false, allErrors: true, strict: false });
  addFormats(ajv);
  return ajv;
}

const requestIdPattern = /^[\w.\-:]{1,128}$/;

export async function buildApp(options: AppOptions) {
  const app = Fastify({
    logger: options.logger,
    bodyLimit: options.bodyLimitBytes,
    requestIdHeader: 'x-request-id',
    genReqId: () => randomUUID(),
    routerOptions: { maxParamLength: 200 },
    return503OnClosing: true,
    trustProxy: options.limits.trustProxy,
    // Receiving a request may take so long (408 beyond), checked this often; the answer is
    // not timed (Node stops the clock once the request has arrived), so live streams run on.
    requestTimeout: options.limits.requestTimeoutMs,
    http: {
      headersTimeout: options.limits.headersTimeoutMs,
      requestTimeout: options.limits.requestTimeoutMs,
      connectionsCheckingInterval: options.limits.connectionsCheckingIntervalMs,
    },
    // Requests refused before they reach a route (timed out, headers too large, not HTTP).
    clientErrorHandler: answerClientError,
    // Errors Fastify raises before routing (a malformed URL, an over-long id) are
    // problem documents like every other error.
    frameworkErrors: (error, request, reply) => {
      const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
      return sendProblem(request, reply, status, status === 414 ? 'URI_TOO_LONG' : 'MALFORMED_REQUEST', error.message);
    },
  });
  // Trust a caller's request id only when it looks like one.
  app.addHook('onRequest', async (request, reply) => {
    const given = request.headers['x-request-id'];
    if (typeof given === 'string' && !requestIdPattern.test(given)) request.id = randomUUID();
    reply.header('x-request-id', request.id);
  });

  const bodyAjv = makeAjv(false);
  const otherAjv = makeAjv('array');
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? bodyAjv : otherAjv).compile(schema));

  let appPage: NotFoundFallback | null = null;
  registerProblemHandlers(app, () => appPage);
  // Before sign-in: an overloaded server refuses a request before verifying its token.
  const limits = registerLimits(app, options.deps.rateLimiter, options.deps.clock, options.limits);
  registerAuth(app, options.authenticator);
  registerCaching(app);
  const metrics = registerMetrics(app);
  registerQuietConnectionClose(app);
  registerConnectionLimit(app, options.limits.connectionsPerAddressMax);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Boxoffice API',
        version: '1.0.0',
        description: 'Reserved-seating ticket booking. Errors are RFC 9457 problem documents with a stable `code`.',
      },
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              'A sign-in JWT with sub, exp and iat (issued at most AUTH_TOKEN_MAX_AGE_SECONDS ago, not ahead of ' +
              'the clock by more than AUTH_CLOCK_SKEW_SECONDS), role customer (default), organizer or admin; a ' +
              'token for the boxoffice-admission audience is refused',
          },
        },
      },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const hub = new SeatFeedHub(options.deps, options.live, systemClock);
  // Live streams never end by themselves: closing ends them, so the server can stop.
  app.addHook('preClose', async () => hub.close());
  metrics.observe('seat_map_stream_clients', 'Live seat-map (SSE) clients of this process', () => hub.subscribers);
  const queueHub = new QueueFeedHub(options.deps, {
    ...options.live,
    intervalMs: options.deps.settings.queueStreamIntervalMs,
    onError: (error) => app.log.warn({ err: error }, 'waiting-room stream refresh failed'),
  });
  app.addHook('preClose', async () => queueHub.close());
  metrics.observe('waiting_room_stream_clients', 'Live waiting-room (SSE) clients', () => queueHub.subscribers);
  const statsHub = new StatsFeedHub(options.deps, {
    ...options.live,
    intervalMs: options.deps.settings.statsStreamIntervalMs,
    onError: (error) => app.log.warn({ err: error }, 'sale stats stream refresh failed'),
  });
  app.addHook('preClose', async () => statsHub.close());
  metrics.observe(
    'sale_stats_stream_clients',
    "Live sale-figure (SSE) clients (organizers')",
    () => statsHub.subscribers,
  );
  metrics.observe('http_requests_in_flight', 'Requests this process is answering', () => limits.inFlight());
  for (const gauge of options.gauges ?? []) metrics.observe(gauge.name, gauge.help, gauge.count);
  // Both kinds of live stream count against one allowance per address and per user.
  const streamSlots = new StreamSlots(options.limits.streams);

  eventRoutes(app, options.deps, { eventBodyLimitBytes: options.eventBodyLimitBytes });
  seatMapRoutes(app, options.deps, hub, streamSlots, {
    availabilityMaxAgeMs: options.availabilityMaxAgeMs ?? availabilityMaxAgeMsDefault,
  });
  catalogRoutes(app, options.deps);
  reservationRoutes(app, options.deps);
  paymentRoutes(app, options.deps);
  ticketRoutes(app, options.deps);
  queueRoutes(app, options.deps, queueHub, streamSlots);
  statsRoutes(app, options.deps, statsHub, streamSlots);
  blockRoutes(app, options.deps);
  operationsRoutes(app, options.deps, options.authenticator, metrics);
  const page = options.webAppDir ? await registerWebApp(app, options.webAppDir) : null;
  if (page) appPage = (request, reply) => (wantsAppPage(request) ? page(request, reply) : null);
  await app.ready();
  return app;
}
