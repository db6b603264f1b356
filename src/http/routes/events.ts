import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../../app/deps.ts';
import { createEvent, eventsPageSizeDefault, getEvent, listEvents } from '../../app/events.ts';
import { holdSeats } from '../../app/hold-seats.ts';
import { requireRole, requireUser, signedIn } from '../plugins/auth.ts';
import { bearerAuth, DateTime, responses, Text } from '../schemas/common.ts';
import { Reservation } from './reservations.ts';

const strict = { additionalProperties: false } as const;

const PriceTier = Type.Object(
  {
    id: Text(1, 64),
    name: Text(1, 200),
    price_cents: Type.Integer({ minimum: 0, maximum: 100_000_000 }),
    currency: Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217, e.g. USD' }),
  },
  strict,
);

const Section = Type.Object(
  {
    name: Text(1, 100),
    price_tier: Text(1, 64),
    rows: Type.Array(
      Type.Object({ label: Text(1, 32), seats: Type.Integer({ minimum: 1, maximum: 100_000 }) }, strict),
      {
        minItems: 1,
        maxItems: 10_000,
      },
    ),
  },
  strict,
);

const Venue = Type.Object({ name: Text(1, 200), city: Text(1, 100) }, strict);

const CreateEventBody = Type.Object(
  {
    name: Text(1, 200),
    category: Text(1, 50),
    starts_at: DateTime(),
    venue: Venue,
    sale_opens_at: DateTime(),
    max_seats_per_user: Type.Integer({ minimum: 1, maximum: 1_000, default: 8 }),
    price_tiers: Type.Array(PriceTier, { minItems: 1, maxItems: 100 }),
    seat_map: Type.Object({ sections: Type.Array(Section, { minItems: 1, maxItems: 10_000 }) }, strict),
  },
  strict,
);

const EventSummary = Type.Object({
  event_id: Type.String(),
  name: Type.String(),
  category: Type.String(),
  starts_at: Type.String(),
  venue: Type.Object({ name: Type.String(), city: Type.String() }),
  sale_opens_at: Type.String(),
  seat_count: Type.Integer(),
  currency: Type.String(),
  price_from_cents: Type.Integer(),
  price_to_cents: Type.Integer(),
});

const EventDetail = Type.Object({
  ...EventSummary.properties,
  organizer_id: Type.String(),
  max_seats_per_user: Type.Integer(),
  on_sale: Type.Boolean(),
  price_tiers: Type.Array(
    Type.Object({ id: Type.String(), name: Type.String(), price_cents: Type.Integer(), currency: Type.String() }),
  ),
  sections: Type.Array(
    Type.Object({
      name: Type.String(),
      price_tier: Type.String(),
      rows: Type.Array(Type.Object({ label: Type.String(), seats: Type.Integer() })),
    }),
  ),
  counts: Type.Object({ available: Type.Integer(), held: Type.Integer(), booked: Type.Integer() }),
  created_at: Type.String(),
});

const EventParams = Type.Object({ event_id: Type.String({ minLength: 1, maxLength: 100 }) });

export function eventRoutes(untypedApp: FastifyInstance, deps: Deps, options: { eventBodyLimitBytes: number }) {
  const app = untypedApp.withTypeProvider<TypeBoxTypeProvider>();
  app.post(
    '/v1/events',
    {
      bodyLimit: options.eventBodyLimitBytes,
      preValidation: signedIn('organizer'),
      schema: {
        tags: ['events'],
        summary: 'Create an event with its seat map (organizers)',
        security: bearerAuth,
        body: CreateEventBody,
        response: responses({ 201: Type.Object({ event_id: Type.String(), seat_count: Type.Integer() }) }),
      },
    },
    async (request, reply) => {
      const organizer = requireRole(request, 'organizer');
      const created = await createEvent(deps, organizer.id, request.body);
      return reply.code(201).header('location', `/v1/events/${created.event_id}`).send(created);
    },
  );

  app.get(
    '/v1/events',
    {
      schema: {
        tags: ['events'],
        summary: 'List events, soonest first, with keyset pagination',
        querystring: Type.Object(
          {
            q: Type.Optional(Text(1, 200, { description: 'substring of name, venue or city' })),
            city: Type.Optional(Text(1, 100)),
            category: Type.Optional(Text(1, 50)),
            from: Type.Optional(DateTime('events starting at or after')),
            to: Type.Optional(DateTime('events starting before')),
            cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9_-]+$' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: eventsPageSizeDefault })),
          },
          strict,
        ),
        response: responses({
          200: Type.Object({ events: Type.Array(EventSummary), next_cursor: Type.Union([Type.String(), Type.Null()]) }),
        }),
      },
    },
    async (request) => listEvents(deps, request.query),
  );

  app.get(
    '/v1/events/:event_id',
    {
      schema: {
        tags: ['events'],
        summary: 'An event with venue, tiers, sections and seat counts',
        params: EventParams,
        response: responses({ 200: EventDetail }),
      },
    },
    async (request) => getEvent(deps, request.params.event_id),
  );

  app.post(
    '/v1/events/:event_id/reservations',
    {
      preValidation: signedIn(),
      schema: {
        tags: ['reservations'],
        summary: 'Hold seats for the checkout window: all of them or none',
        security: bearerAuth,
        params: EventParams,
        body: Type.Object({ seat_ids: Type.Array(Text(1, 32), { minItems: 1, maxItems: 1_000 }) }, strict),
        response: responses({ 201: Reservation }),
      },
    },
    async (request, reply) => {
      const user = requireUser(request);
      const { event_id: eventId } = request.params;
      const reservation = await holdSeats(deps, user.id, eventId, request.body.seat_ids);
      return reply.code(201).header('location', `/v1/reservations/${reservation.reservation_id}`).send(reservation);
    },
  );
}
