// Health, readiness, metrics and (demo mode only) the token minting route.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../../app/deps.ts';
import type { Metrics } from '../plugins/metrics.ts';
import { type Authenticator, roles } from '../plugins/auth.ts';
import { responses, Text } from '../schemas/common.ts';

const devTokenTtlSeconds = 12 * 3600;

const Readiness = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('degraded'), Type.Literal('unavailable')]),
  database: Type.String(),
  redis: Type.String({ description: "'ok', 'unreachable', or 'not used' (in-process hot path)" }),
});

export function operationsRoutes(
  untypedApp: FastifyInstance,
  deps: Deps,
  authenticator: Authenticator,
  metrics: Metrics,
) {
  const app = untypedApp.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/healthz',
    {
      config: { inFlightExempt: true },
      schema: {
        tags: ['operations'],
        summary: 'The process is alive',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      config: { inFlightExempt: true },
      schema: {
        tags: ['operations'],
        summary: 'Ready to serve: the database answers (degraded while Redis does not: still selling)',
        response: {
          200: Readiness,
          503: Readiness,
        },
      },
    },
    async (_request, reply) => {
      const board = deps.board.health();
      const redis = board === 'in-process' ? 'not used' : board === 'up' ? 'ok' : 'unreachable';
      try {
        await deps.database.ping();
        return { status: board === 'down' ? ('degraded' as const) : ('ready' as const), database: 'ok', redis };
      } catch {
        return reply
          .code(503)
          .header('retry-after', '2')
          .send({ status: 'unavailable' as const, database: 'unreachable', redis });
      }
    },
  );

  app.get(
    '/metrics',
    { config: { inFlightExempt: true }, schema: { tags: ['operations'], summary: 'Prometheus metrics', hide: true } },
    async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );

  if (!authenticator.demo || !authenticator.sign) return;
  const sign = authenticator.sign;
  app.post(
    '/v1/dev/token',
    {
      schema: {
        tags: ['demo'],
        summary: 'Demo mode only: mint a token for any user and role',
        body: Type.Object(
          {
            user_id: Text(1, 200),
            role: Type.Optional(
              Type.Union(
                roles.map((role) => Type.Literal(role)),
                { default: 'customer' },
              ),
            ),
            email: Type.Optional(Type.String({ format: 'email', maxLength: 254 })),
            // staff: the events whose tickets they may check in
            events: Type.Optional(Type.Array(Type.String({ format: 'uuid' }), { maxItems: 100 })),
          },
          { additionalProperties: false },
        ),
        response: responses({
          200: Type.Object({ token: Type.String(), token_type: Type.Literal('Bearer'), expires_in: Type.Integer() }),
        }),
      },
    },
    async (request) => {
      const { user_id: userId, role = 'customer', email, events } = request.body;
      // A token outliving AUTH_TOKEN_MAX_AGE_SECONDS would be refused before its exp.
      const ttlSeconds = Math.min(devTokenTtlSeconds, authenticator.tokenMaxAgeSeconds);
      return {
        token: await sign(
          { id: userId, role, ...(email === undefined ? {} : { email }), ...(events === undefined ? {} : { events }) },
          ttlSeconds,
        ),
        token_type: 'Bearer' as const,
        expires_in: ttlSeconds,
      };
    },
  );
}
