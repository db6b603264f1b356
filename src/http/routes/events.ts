import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../../app/deps.ts';
import { createEvent, eventsPageSizeDefault, getEvent, listEvents, updateEvent } from '../../app/events.ts';
import { holdBestAvailable, holdSeats } from '../../app/hold-seats.ts';
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
      Type.Object(
        {
          label: Text(1, 32),
          seats: Type.Integer({ minimum: 1, maximum: 100_000 }),
          accessible: Type.Optional(
            Type.Array(Type.Integer({ minimum: 1, maximum: 100_000 }), {
              maxItems: 1_000,
              description:
                'seat numbers (from 1) that are wheelchair spaces: best available offers them only to accessible requests',
            }),
          ),
          companion: Type.Optional(
            Type.Array(Type.Integer({ minimum: 1, maximum: 100_000 }), {
              maxItems: 1_000,
              description: 'seat numbers (from 1) kept for companions of wheelchair users, offered likewise',
            }),
          ),
        },
        strict,
      ),
      {
        minItems: 1,
        maxItems: 10_000,
      },
    ),
    position: Type.Optional(
      Type.Object(
        {
          x: Type.Number({
            minimum: -100_000,
            maximum: 100_000,
            description: 'left edge of the unrotated section, in seat widths',
          }),
          y: Type.Number({
            minimum: -100_000,
            maximum: 100_000,
            description: 'top edge (its first row) of the unrotated section, in seat widths',
          }),
          angle: Type.Optional(
            Type.Number({
              minimum: -360,
              maximum: 360,
              description: 'rotation in degrees, clockwise, about the section’s centre (default 0)',
            }),
          ),
        },
        {
          ...strict,
          description:
            'where the section sits on the venue plan (the stage is at the top); sections without one are laid out automatically',
        },
      ),
    ),
    rank: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1_000,
        description:
          'best available tries sections of a lower rank first (sections of one rank share their front rows); ' +
          'default: nearer the stage when every section is placed, else the order listed',
      }),
    ),
  },
  strict,
);

const WaitingRoomBody = Type.Object(
  {
    enabled: Type.Boolean({ description: 'on: holds and payments need an admission from the waiting room' }),
    admit_per_minute: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'people let in per minute (default 600)' }),
    ),
    max_active_shoppers: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1, maximum: 10_000_000 }), Type.Null()], {
        description: 'at most this many admitted at once (default null: no cap)',
      }),
    ),
    admission_window_seconds: Type.Optional(
      Type.Integer({ minimum: 60, maximum: 86_400, description: 'how long an admission lasts (default 900)' }),
    ),
    paused: Type.Optional(
      Type.Boolean({
        description: 'true stops admission at once (the line keeps its order); false resumes it (default false)',
      }),
    ),
    challenge: Type.Optional(
      Type.Boolean({
        description: 'true: joining needs a solved proof-of-work challenge from GET …/queue/challenge (default false)',
      }),
    ),
  },
  { ...strict, description: 'members left out keep their current (or default) values' },
);

const RefundPolicyBody = Type.Object(
  {
    buyer_cancel_until_hours: Type.Integer({
      minimum: 0,
      maximum: 8_760,
      description: 'buyers may cancel until this many hours before the event starts',
    }),
    fee_percent: Type.Optional(
      Type.Number({ minimum: 0, maximum: 100, description: 'kept from each buyer refund (default 0)' }),
    ),
  },
  strict,
);

const RefundPolicy = Type.Union([
  Type.Object({ buyer_cancel_until_hours: Type.Integer(), fee_percent: Type.Number() }),
  Type.Null(),
]);

const WaitingRoom = Type.Object({
  enabled: Type.Boolean(),
  admit_per_minute: Type.Integer(),
  max_active_shoppers: Type.Union([Type.Integer(), Type.Null()]),
  admission_window_seconds: Type.Integer(),
  paused: Type.Boolean(),
  challenge: Type.Boolean(),
});

const AdmissionHeaders = Type.Object({
  'x-admission-token': Type.Optional(
    Type.String({ maxLength: 4096, description: 'from the waiting room, when the event has one' }),
  ),
});

const Venue = Type.Object({ name: Text(1, 200), city: Text(1, 100) }, strict);

const Id = (description: string) => Type.String({ format: 'uuid', description });
const SeatMapBody = Type.Object({ sections: Type.Array(Section, { minItems: 1, maxItems: 10_000 }) }, strict);
const PriceTiers = Type.Array(PriceTier, { minItems: 1, maxItems: 100 });
const PerformerIds = Type.Array(Id('one of your performers'), { maxItems: 20 });
const Description = Text(0, 5_000);

const MaxSeatsPerCard = Type.Union([Type.Integer({ minimum: 1, maximum: 100_000 }), Type.Null()], {
  description:
    'the most seats one payment card (by its fingerprint at the payment provider) pays for at this event, ' +
    'whatever the accounts using it: booked seats not refunded, and seats being paid for now. A confirmation ' +
    'that would exceed it is refused with 409 CARD_LIMIT_REACHED. null or absent: no limit',
});

const CreateEventBody = Type.Object(
  {
    name: Text(1, 200),
    category: Text(1, 50),
    description: Type.Optional(Description),
    status: Type.Optional(
      Type.Union([Type.Literal('draft'), Type.Literal('published')], {
        description: 'draft: only you see it, nobody can buy; default published',
      }),
    ),
    starts_at: DateTime(),
    venue: Type.Optional(Venue),
    venue_id: Type.Optional(Id('one of your venues (instead of venue)')),
    performer_ids: Type.Optional(PerformerIds),
    sale_opens_at: DateTime(),
    max_seats_per_user: Type.Integer({ minimum: 1, maximum: 1_000, default: 8 }),
    max_seats_per_card: Type.Optional(MaxSeatsPerCard),
    price_tiers: PriceTiers,
    seat_map: SeatMapBody,
    waiting_room: Type.Optional(WaitingRoomBody),
    refund_policy: Type.Optional(
      Type.Union([RefundPolicyBody, Type.Null()], { description: 'absent or null: buyers cannot cancel' }),
    ),
  },
  strict,
);

const UpdateEventBody = Type.Object(
  {
    name: Type.Optional(Text(1, 200)),
    category: Type.Optional(Text(1, 50)),
    description: Type.Optional(Description),
    status: Type.Optional(
      Type.Union([Type.Literal('draft'), Type.Literal('published'), Type.Literal('cancelled')], {
        description: 'draft -> published -> cancelled; a draft may be cancelled too',
      }),
    ),
    starts_at: Type.Optional(DateTime()),
    sale_opens_at: Type.Optional(DateTime()),
    max_seats_per_user: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000 })),
    max_seats_per_card: Type.Optional(MaxSeatsPerCard),
    venue: Type.Optional(Venue),
    venue_id: Type.Optional(Id('one of your venues (instead of venue)')),
    performer_ids: Type.Optional(PerformerIds),
    price_tiers: Type.Optional(PriceTiers),
    seat_map: Type.Optional(SeatMapBody),
    waiting_room: Type.Optional(WaitingRoomBody),
    refund_policy: Type.Optional(
      Type.Union([RefundPolicyBody, Type.Null()], { description: 'absent or null: buyers cannot cancel' }),
    ),
  },
  { ...strict, minProperties: 1 },
);

const EventStatus = Type.Union([Type.Literal('draft'), Type.Literal('published'), Type.Literal('cancelled')]);

const EventSummary = Type.Object({
  event_id: Type.String(),
  name: Type.String(),
  category: Type.String(),
  status: EventStatus,
  starts_at: Type.String(),
  venue: Type.Object({
    venue_id: Type.Union([Type.String(), Type.Null()]),
    name: Type.String(),
    city: Type.String(),
  }),
  performers: Type.Array(Type.Object({ performer_id: Type.String(), name: Type.String() })),
  sale_opens_at: Type.String(),
  seat_count: Type.Integer(),
  waiting_room_enabled: Type.Boolean({ description: 'buyers join a waiting room before they may hold seats' }),
  currency: Type.String(),
  price_from_cents: Type.Integer(),
  price_to_cents: Type.Integer(),
});

const EventDetail = Type.Object({
  ...EventSummary.properties,
  organizer_id: Type.Optional(Type.String({ description: "the organizer's own reads and edits only" })),
  description: Type.String(),
  max_seats_per_user: Type.Integer(),
  max_seats_per_card: Type.Union([Type.Integer(), Type.Null()], {
    description: 'the most seats one payment card pays for at this event, across accounts; null: no limit',
  }),
  waiting_room: WaitingRoom,
  refund_policy: RefundPolicy,
  on_sale: Type.Boolean(),
  price_tiers: Type.Array(
    Type.Object({ id: Type.String(), name: Type.String(), price_cents: Type.Integer(), currency: Type.String() }),
  ),
  sections: Type.Array(
    Type.Object({
      name: Type.String(),
      price_tier: Type.String(),
      rows: Type.Array(
        Type.Object({
          label: Type.String(),
          seats: Type.Integer(),
          accessible: Type.Optional(Type.Array(Type.Integer())),
          companion: Type.Optional(Type.Array(Type.Integer())),
        }),
      ),
      position: Type.Optional(Type.Object({ x: Type.Number(), y: Type.Number(), angle: Type.Optional(Type.Number()) })),
      rank: Type.Optional(Type.Integer()),
    }),
  ),
  seat_ids: Type.Object(
    { kind: Type.Literal('prefix-index'), prefix: Type.String() },
    {
      description:
        'how the seat ids are made: seat i (from 0, in section, row, seat order: the order of GET …/seats and ' +
        'of the availability bits) is prefix + i. A seat map can be drawn from the sections and the ' +
        'availability alone, without the full seat list',
    },
  ),
  counts: Type.Object({
    available: Type.Integer(),
    held: Type.Integer(),
    booked: Type.Integer(),
    blocked: Type.Integer({ description: "off sale in the organizer's blocks" }),
  }),
  created_at: Type.String(),
  updated_at: Type.String(),
});

const EventParams = Type.Object({ event_id: Type.String({ minLength: 1, maxLength: 100 }) });

const HoldBody = Type.Union(
  [
    Type.Object(
      { seat_ids: Type.Array(Text(1, 32), { minItems: 1, maxItems: 1_000, description: 'the seats to hold' }) },
      strict,
    ),
    Type.Object(
      {
        best_available: Type.Object(
          {
            count: Type.Integer({ minimum: 1, maximum: 1_000, description: 'how many seats' }),
            price_tier: Type.Optional(Text(1, 64)),
            section: Type.Optional(Text(1, 100)),
            accessible: Type.Optional(
              Type.Boolean({
                description: 'wheelchair spaces and companion seats, offered only when asked (default false)',
              }),
            ),
            together: Type.Optional(
              Type.Boolean({
                description: 'adjacent in one row (default true); false: the best seats, apart when they must be',
              }),
            ),
          },
          {
            ...strict,
            description:
              'the server chooses: best rows first (section rank, then row), nearest the middle, never stranding ' +
              'a single seat when it can help it; 409 NOT_ENOUGH_SEATS when it cannot',
          },
        ),
      },
      strict,
    ),
  ],
  { description: 'name the seats, or ask for the best available' },
);

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
        response: responses({
          201: Type.Object({ event_id: Type.String(), seat_count: Type.Integer(), status: EventStatus }),
        }),
      },
    },
    async (request, reply) => {
      const organizer = requireRole(request, 'organizer');
      const created = await createEvent(deps, organizer.id, request.body);
      return reply.code(201).header('location', `/v1/events/${created.event_id}`).send(created);
    },
  );

  const ListQuery = Type.Object(
    {
      q: Type.Optional(
        Text(1, 200, {
          description:
            'words to find (prefixes match; accents and case do not matter; small typos are forgiven) in ' +
            'event and performer names, then venue and city, then description',
        }),
      ),
      city: Type.Optional(Text(1, 100)),
      category: Type.Optional(Text(1, 50)),
      from: Type.Optional(DateTime('events starting at or after')),
      to: Type.Optional(DateTime('events starting before')),
      price_min: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000, description: 'cents' })),
      price_max: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000_000, description: 'cents' })),
      available: Type.Optional(Type.Boolean({ description: 'only events with a seat available now' })),
      sort: Type.Optional(
        Type.Union([Type.Literal('relevance'), Type.Literal('date')], {
          description: 'relevance (the default with q; needs q) or date (soonest first)',
        }),
      ),
      cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 300, pattern: '^[A-Za-z0-9_-]+$' })),
      limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: eventsPageSizeDefault })),
    },
    strict,
  );
  const EventsPage = Type.Object({
    events: Type.Array(EventSummary),
    next_cursor: Type.Union([Type.String(), Type.Null()]),
  });

  app.get(
    '/v1/events',
    {
      config: { cacheSeconds: 5 },
      schema: {
        tags: ['events'],
        summary: 'Find published events: full-text search with filters, keyset pagination',
        querystring: ListQuery,
        response: responses({ 200: EventsPage }),
      },
    },
    async (request) => listEvents(deps, request.query),
  );

  app.get(
    '/v1/me/events',
    {
      preValidation: signedIn('organizer'),
      schema: {
        tags: ['events'],
        summary: 'Your events, in every status (organizers)',
        security: bearerAuth,
        querystring: ListQuery,
        response: responses({ 200: EventsPage }),
      },
    },
    async (request) => listEvents(deps, request.query, requireRole(request, 'organizer').id),
  );

  app.patch(
    '/v1/events/:event_id',
    {
      bodyLimit: options.eventBodyLimitBytes,
      preValidation: signedIn('organizer'),
      schema: {
        tags: ['events'],
        summary: 'Change your event; its seat map only before the sale opens and before any hold',
        security: bearerAuth,
        params: EventParams,
        body: UpdateEventBody,
        response: responses({ 200: EventDetail }),
      },
    },
    async (request) => updateEvent(deps, requireRole(request, 'organizer').id, request.params.event_id, request.body),
  );

  app.get(
    '/v1/events/:event_id',
    {
      schema: {
        tags: ['events'],
        summary: 'An event with venue, performers, tiers, sections and seat counts (drafts: their organizer only)',
        params: EventParams,
        response: responses({ 200: EventDetail }),
      },
      config: { cacheSeconds: 2 },
    },
    async (request, reply) => {
      const event = await getEvent(deps, request.params.event_id, request.user?.id);
      // Drafts and the organizer's own view (with organizer_id) are for one reader only.
      if (event.status === 'draft' || 'organizer_id' in event) reply.header('cache-control', 'private, no-store');
      return event;
    },
  );

  app.post(
    '/v1/events/:event_id/reservations',
    {
      preValidation: signedIn(),
      config: { rateLimited: true },
      schema: {
        tags: ['reservations'],
        summary: 'Hold seats for the checkout window: all of them or none',
        description: "With the event's waiting room on, send your admission token: else 403 ADMISSION_REQUIRED.",
        security: bearerAuth,
        params: EventParams,
        headers: AdmissionHeaders,
        body: HoldBody,
        response: responses({ 201: Reservation }),
      },
    },
    async (request, reply) => {
      const user = requireUser(request);
      const { event_id: eventId } = request.params;
      const admissionToken = request.headers['x-admission-token'];
      const { body } = request;
      const reservation =
        'seat_ids' in body
          ? await holdSeats(deps, user.id, eventId, body.seat_ids, admissionToken)
          : await holdBestAvailable(
              deps,
              user.id,
              eventId,
              {
                count: body.best_available.count,
                priceTier: body.best_available.price_tier,
                section: body.best_available.section,
                accessible: body.best_available.accessible ?? false,
                together: body.best_available.together ?? true,
              },
              admissionToken,
            );
      return reply.code(201).header('location', `/v1/reservations/${reservation.reservation_id}`).send(reservation);
    },
  );
}
