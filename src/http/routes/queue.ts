// The waiting room: join, ask where you stand, or watch it live.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../../app/deps.ts';
import type { QueueFeedHub } from '../../app/queue-feed-hub.ts';
import { joinQueue, queueStatus } from '../../app/waiting-room.ts';
import { requireUser, signedIn } from '../plugins/auth.ts';
import { bearerAuth, responses } from '../schemas/common.ts';
import type { StreamSlots } from '../../app/stream-slots.ts';
import { openStream, queueFeedBytes } from '../sse.ts';

const Nullable = <T extends ReturnType<typeof Type.Integer>>(schema: T) => Type.Union([schema, Type.Null()]);

export const QueueStatus = Type.Object({
  event_id: Type.String(),
  status: Type.Union([Type.Literal('waiting'), Type.Literal('admitted'), Type.Literal('expired')], {
    description:
      'waiting: in line; admitted: hold and pay with admission_token until admission_expires_at; ' +
      'expired: the admission was not used in time (join again: the back of the line)',
  }),
  position: Nullable(Type.Integer({ description: '1 = next in; null before the sale opens (order not drawn yet)' })),
  ahead: Nullable(Type.Integer({ description: 'people before you' })),
  estimated_wait_seconds: Nullable(Type.Integer()),
  sale_opens_at: Type.String({
    description: 'who joins before this is placed at random among everyone who did; after it, in order of arrival',
  }),
  admission_token: Type.Optional(Type.String({ description: 'send as X-Admission-Token to hold and to pay' })),
  admission_expires_at: Type.Optional(Type.String()),
});

const EventParams = Type.Object({ event_id: Type.String({ minLength: 1, maxLength: 100 }) });

export function queueRoutes(untypedApp: FastifyInstance, deps: Deps, hub: QueueFeedHub, slots: StreamSlots) {
  const app = untypedApp.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/v1/events/:event_id/queue',
    {
      preValidation: signedIn(),
      config: { rateLimited: true },
      schema: {
        tags: ['waiting room'],
        summary: 'Join the waiting room (joining again keeps your place)',
        security: bearerAuth,
        params: EventParams,
        response: responses({ 200: QueueStatus }),
      },
    },
    async (request) => joinQueue(deps, requireUser(request).id, request.params.event_id),
  );

  app.get(
    '/v1/events/:event_id/queue/me',
    {
      preValidation: signedIn(),
      config: { rateLimited: true },
      schema: {
        tags: ['waiting room'],
        summary: 'Where you stand in the waiting room',
        security: bearerAuth,
        params: EventParams,
        response: responses({ 200: QueueStatus }),
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return queueStatus(deps, requireUser(request).id, request.params.event_id);
    },
  );

  app.get(
    '/v1/events/:event_id/queue/stream',
    {
      preValidation: signedIn(),
      config: { inFlightExempt: true },
      schema: {
        tags: ['waiting room'],
        summary: 'Watch your place in the waiting room (Server-Sent Events)',
        description:
          '`queue` events carry the same object as GET …/queue/me: one at once, then one whenever it ' +
          'changes (position, estimated wait, the admission with its token). Comments (`: heartbeat`) keep ' +
          'the connection alive. 404 when you have not joined; 429 `TOO_MANY_STREAMS` when you (or your address) ' +
          'already hold SSE_STREAMS_PER_USER_MAX (SSE_STREAMS_PER_ADDRESS_MAX) live streams here; 503 when this ' +
          'server has as many clients as it takes.',
        security: bearerAuth,
        params: EventParams,
        response: responses({ 200: Type.String({ description: 'text/event-stream' }) }),
      },
    },
    async (request, reply) => {
      const user = requireUser(request);
      return openStream(request, reply, slots, queueFeedBytes, (client) =>
        hub.connect(request.params.event_id, user.id, client),
      );
    },
  );
}
