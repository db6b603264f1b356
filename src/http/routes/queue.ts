// The waiting room: join, ask where you stand, or watch it live.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../../app/deps.ts';
import type { QueueFeedHub } from '../../app/queue-feed-hub.ts';
import { queueStatus } from '../../app/waiting-room.ts';
import { issueJoinChallenge, joinThroughDoor } from '../../app/join-challenge.ts';
import { requireUser, signedIn } from '../plugins/auth.ts';
import { bearerAuth, responses } from '../schemas/common.ts';
import type { StreamSlots } from '../../app/stream-slots.ts';
import { openStream, queueFeedBytes } from '../sse.ts';

const Nullable = <T extends ReturnType<typeof Type.Integer>>(schema: T) => Type.Union([schema, Type.Null()]);

export const QueueStatus = Type.Object({
  event_id: Type.String(),
  status: Type.Union(
    [Type.Literal('waiting'), Type.Literal('admitted'), Type.Literal('expired'), Type.Literal('sold_out')],
    {
      description:
        'waiting: in line; admitted: hold and pay with admission_token until admission_expires_at; ' +
        'expired: the admission was not used in time (join again: the back of the line); ' +
        'sold_out: every seat is booked, nobody is let in; you keep your place, and admission resumes ' +
        'by itself if seats come back (a lapsed hold, a cancellation): the stream says so at once',
    },
  ),
  paused: Type.Boolean({
    description: 'the organizer has paused admission: you keep your place; no estimate while paused',
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

const JoinBody = Type.Object(
  {
    altcha: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description:
          "the solved challenge (ALTCHA payload: base64 of {challenge, solution}); needed when the event's " +
          'waiting_room.challenge is on and you hold no place yet',
      }),
    ),
  },
  { additionalProperties: false },
);

const JoinChallenge = Type.Object(
  {
    parameters: Type.Object(
      {
        algorithm: Type.String(),
        nonce: Type.String(),
        salt: Type.String(),
        cost: Type.Integer(),
        keyLength: Type.Integer(),
        keyPrefix: Type.String(),
        keySignature: Type.Optional(Type.String()),
        data: Type.Object({ event_id: Type.String(), expires_at_ms: Type.Integer() }),
      },
      { additionalProperties: true },
    ),
    signature: Type.String(),
  },
  {
    description:
      'An ALTCHA proof-of-work challenge (altcha-lib v2): find the counter whose SHA-256 of salt | nonce | counter ' +
      '(uint32, big-endian) starts with keyPrefix; send base64(JSON {challenge, solution: {counter, derivedKey}}) ' +
      'as altcha. Good once, until data.expires_at_ms.',
  },
);

export function queueRoutes(untypedApp: FastifyInstance, deps: Deps, hub: QueueFeedHub, slots: StreamSlots) {
  const app = untypedApp.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/v1/events/:event_id/queue',
    {
      // A join with no body (the challenge off, or a place already held) is an empty one.
      preValidation: [signedIn(), async (request) => void (request.body ??= {})],
      config: { rateLimited: true },
      schema: {
        tags: ['waiting room'],
        summary: 'Join the waiting room (joining again keeps your place)',
        description:
          "When the event's waiting_room.challenge is on, a new place needs a solved challenge (GET …/queue/challenge) " +
          'sent as {"altcha": …}; unsolved, malformed, wrong, expired or already used: 400 `CHALLENGE_FAILED` (its ' +
          '`reason` says which) and no place. Asking again while you hold a place needs no solution (one sent is ' +
          'checked and spent all the same). With the challenge off, no body is needed.',
        security: bearerAuth,
        params: EventParams,
        body: JoinBody,
        response: responses({ 200: QueueStatus }),
      },
    },
    async (request) => {
      const user = requireUser(request);
      return joinThroughDoor(deps, user.id, request.params.event_id, request.body.altcha, user.email ?? null);
    },
  );

  app.get(
    '/v1/events/:event_id/queue/challenge',
    {
      config: { rateLimited: true },
      schema: {
        tags: ['waiting room'],
        summary: "A proof-of-work challenge to solve before joining (the waiting room's door)",
        description:
          'Public and cheap (one hash, nothing stored), rate-limited per address. Solve it and join with the ' +
          'solution; each challenge opens the door once, until it expires (ALTCHA_EXPIRES_SECONDS).',
        params: EventParams,
        response: responses({ 200: JoinChallenge }),
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return issueJoinChallenge(deps, request.params.event_id);
    },
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
