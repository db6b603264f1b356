// The seat map, three ways: compact availability (2 bits per seat), the full seat list,
// and a live stream (SSE). All three are served from the seat board, not PostgreSQL.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { Deps } from '../../app/deps.ts';
import type { SeatFeedHub } from '../../app/seat-feed-hub.ts';
import type { StreamSlots } from '../../app/stream-slots.ts';
import { openStream, seatFeedBytes } from '../sse.ts';
import { AvailabilityCache } from '../availability-cache.ts';
import { SeatListCache } from '../seat-list-cache.ts';
import { availabilityChangesEncoding, availabilityEncoding } from '../seat-map-encoding.ts';
import { Problem, responses, Seat } from '../schemas/common.ts';

const EventParams = Type.Object({ event_id: Type.String({ minLength: 1, maxLength: 100 }) });

const SeatStatusSchema = Type.Union(
  [Type.Literal('available'), Type.Literal('held'), Type.Literal('booked'), Type.Literal('blocked')],
  { description: "blocked: off sale in an organizer's block" },
);

const SeatWithStatus = Type.Object({
  ...Seat.properties,
  accessible: Type.Optional(Type.Literal(true, { description: 'a wheelchair space' })),
  companion: Type.Optional(Type.Literal(true, { description: 'kept for the companion of a wheelchair user' })),
  status: SeatStatusSchema,
});

const AvailabilityBody = Type.Object({
  event_id: Type.String(),
  version: Type.Integer({ description: 'grows with every change; the SSE `id:` of the same state' }),
  seat_count: Type.Integer(),
  encoding: Type.Literal(availabilityEncoding, {
    description:
      'data is base64 of the raw-DEFLATE (RFC 1951) compression of 2 bits per seat in seat order, ' +
      'most significant bits first (seat n is bits 2n and 2n+1 of the byte string): ' +
      '0 available, 1 held, 2 booked, 3 blocked',
  }),
  data: Type.String(),
});

const AvailabilityChangesBody = Type.Object(
  {
    event_id: Type.String(),
    version: Type.Integer({ description: 'the version the map is at once the changes are applied' }),
    seat_count: Type.Integer({
      description:
        'the seats of the map at `version`; another count than your map has means the organizer replaced ' +
        'the seat map (only possible before the sale): read the event and the full document again',
    }),
    encoding: Type.Literal(availabilityChangesEncoding),
    since: Type.Integer({ description: 'the version asked for: the changes apply to the map at it' }),
    changes: Type.Array(
      Type.Object({
        seat_id: Type.String(),
        status: SeatStatusSchema,
      }),
      { description: 'every seat whose status may differ from the map at `since`, with its status now, in seat order' },
    ),
  },
  { description: 'the changes since a version (asked for with `since`)' },
);

const AvailabilityQuery = Type.Object({
  since: Type.Optional(
    Type.String({
      pattern: '^[0-9]{1,16}$',
      description:
        'the version of the map you have (a `version` of this document, or the `id:` of the live stream): ' +
        'the answer is then the changes since it when the server still knows them and they are smaller, ' +
        'else the full document (tell them apart by `encoding`)',
    }),
  ),
});

const notModified = { 304: Type.Null({ description: 'unchanged since the given ETag' }) };

/** Answers 304 when the client has the state of this tag; otherwise sets the validators. */
function conditional(request: FastifyRequest, reply: FastifyReply, tag: string): boolean {
  reply.header('etag', tag).header('cache-control', 'no-cache');
  const given = request.headers['if-none-match'];
  if (typeof given === 'string' && given.split(',').some((value) => value.trim().replace(/^W\//, '') === tag)) {
    reply.code(304).send();
    return true;
  }
  return false;
}

function lastEventIdOf(request: FastifyRequest): number | null {
  const header = request.headers['last-event-id'];
  const value = typeof header === 'string' ? header.trim() : '';
  // A hint, not an input: anything but a version this service could have issued means "from scratch".
  return /^\d{1,16}$/.test(value) ? Number(value) : null;
}

type EventRequest = FastifyRequest<{ Params: { event_id: string } }>;
type AvailabilityRequest = FastifyRequest<{ Params: { event_id: string }; Querystring: { since?: string } }>;

export interface SeatMapRouteOptions {
  /** How long a built availability document is shared (AvailabilityCache). */
  availabilityMaxAgeMs: number;
}

// The two conditional GETs answer 304 or a body; they are declared without the type
// provider, whose reply type cannot say "a body, or nothing with 304".
export function seatMapRoutes(
  app: FastifyInstance,
  deps: Deps,
  hub: SeatFeedHub,
  slots: StreamSlots,
  options: SeatMapRouteOptions,
) {
  const seatLists = new SeatListCache(deps);
  const availability = new AvailabilityCache(deps, { maxAgeMs: options.availabilityMaxAgeMs });

  app.get(
    '/v1/events/:event_id/availability',
    {
      schema: {
        tags: ['seat map'],
        summary: 'Every seat status, compact (2 bits per seat), or the changes since a version; with an ETag',
        description:
          `Built at most once per ${options.availabilityMaxAgeMs} ms per event and shared by every request in ` +
          'that time, so it may lag the newest changes by that much (a hold is checked when it is made; ' +
          'the live stream has the changes at once). `If-None-Match` with the current ETag: 304. ' +
          'With `since` (the version you have): the changes since it, `encoding: "seat-changes"`, when the ' +
          'server still knows them and they are smaller than the whole map; otherwise the full document. ' +
          'Applying the changes to your map at `since` gives the map at `version`, whose ETag is sent. ' +
          'A `since` that is not a decimal version is 400.',
        params: EventParams,
        querystring: AvailabilityQuery,
        response: responses({
          200: Type.Union([AvailabilityBody, AvailabilityChangesBody], {
            description: 'the full document, or with `since` possibly the changes (see `encoding`)',
          }),
          ...notModified,
        }),
      },
    },
    async (request: AvailabilityRequest, reply) => {
      const built = await availability.read(request.params.event_id);
      if (conditional(request, reply, built.tag)) return reply;
      const since = request.query.since;
      const body = (since !== undefined && availability.changesSince(built, Number(since))) || built.json;
      // Built once per interval and shared; sent as is, past the response serializer.
      return reply.type('application/json; charset=utf-8').send(body);
    },
  );

  app.get(
    '/v1/events/:event_id/seats',
    {
      config: { rateLimited: 'seat-list' },
      schema: {
        tags: ['seat map'],
        summary: 'Every seat with its status, in seat order, with an ETag (events up to SEAT_LIST_SEATS_MAX seats)',
        description:
          'Built at most once per SEAT_LIST_MAX_AGE_MS per event and shared, so it may lag the newest ' +
          'changes by that much (the live stream has them at once). Rate-limited per client address ' +
          '(429 RATE_LIMITED). An event with more seats than SEAT_LIST_SEATS_MAX is refused with 409 ' +
          '`SEAT_LIST_TOO_LARGE`, whose `availability_url` names the compact document to read instead.',
        params: EventParams,
        response: responses({
          200: Type.Object({ event_id: Type.String(), version: Type.Integer(), seats: Type.Array(SeatWithStatus) }),
          ...notModified,
          409: Type.Object(
            {
              ...Problem.properties,
              availability_url: Type.Optional(
                Type.String({ description: 'SEAT_LIST_TOO_LARGE: GET this instead (2 bits per seat)' }),
              ),
              event_url: Type.Optional(
                Type.String({ description: 'SEAT_LIST_TOO_LARGE: the sections and the seat_ids scheme' }),
              ),
              seat_count: Type.Optional(Type.Integer()),
              seat_list_seats_max: Type.Optional(Type.Integer()),
            },
            { additionalProperties: true, description: 'SEAT_LIST_TOO_LARGE: the event is too large to list' },
          ),
        }),
      },
    },
    async (request: EventRequest, reply) => {
      const list = await seatLists.list(request.params.event_id);
      if (conditional(request, reply, list.tag)) return reply;
      // Built once per interval and shared; sent as is, past the response serializer.
      return reply.type('application/json; charset=utf-8').send(list.json);
    },
  );

  app.get(
    '/v1/events/:event_id/seats/stream',
    {
      config: { inFlightExempt: true },
      schema: {
        tags: ['seat map'],
        summary: 'Live seat map (Server-Sent Events)',
        description:
          'A `snapshot` event (the availability document), then `seat` events ' +
          '`{version, changes: [{seat_id, status}]}` with the net change since the previous message, ' +
          'at most a few per second. The SSE `id:` is the version; reconnecting with `Last-Event-ID` resumes ' +
          'without gaps when the server still has the changes since, and starts with a fresh snapshot otherwise. ' +
          'Comments (`: heartbeat`) keep the connection alive. 429 `TOO_MANY_STREAMS` when your address ' +
          '(or, signed in, you) already holds SSE_STREAMS_PER_ADDRESS_MAX (SSE_STREAMS_PER_USER_MAX) live streams ' +
          'here; 503 when this server has as many clients as it takes.',
        params: EventParams,
        headers: Type.Object({ 'last-event-id': Type.Optional(Type.String()) }),
        response: responses({
          200: Type.String({ description: 'text/event-stream' }),
        }),
      },
    },
    async (request: EventRequest, reply) =>
      openStream(request, reply, slots, seatFeedBytes, (client) =>
        hub.connect(request.params.event_id, lastEventIdOf(request), client),
      ),
  );
}
