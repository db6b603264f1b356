// Health, readiness, metrics and (demo mode only) the token minting route.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../../app/deps.ts';
import type { Metrics } from '../plugins/metrics.ts';
import { type Authenticator, roles } from '../plugins/auth.ts';
import { responses, Text } from '../schemas/common.ts';

const devTokenTtlSeconds = 12 * 3600;

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
      schema: {
        tags: ['operations'],
        summary: 'Ready to serve: the database answers',
        response: {
          200: Type.Object({ status: Type.String(), database: Type.String() }),
          503: Type.Object({ status: Type.String(), database: Type.String() }),
        },
      },
    },
    async (_request, reply) => {
      try {
        await deps.store.ping();
        return { status: 'ready', database: 'ok' };
      } catch {
        return reply.code(503).header('retry-after', '2').send({ status: 'unavailable', database: 'unreachable' });
      }
    },
  );

  app.get(
    '/metrics',
    { schema: { tags: ['operations'], summary: 'Prometheus metrics', hide: true } },
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
          },
          { additionalProperties: false },
        ),
        response: responses({
          200: Type.Object({ token: Type.String(), token_type: Type.Literal('Bearer'), expires_in: Type.Integer() }),
        }),
      },
    },
    async (request) => {
      const { user_id: userId, role = 'customer' } = request.body;
      return {
        token: await sign({ id: userId, role }, devTokenTtlSeconds),
        token_type: 'Bearer' as const,
        expires_in: devTokenTtlSeconds,
      };
    },
  );
}
