// The organizer's live view of a sale: its figures (JSON, and live over Server-Sent
// Events), and its attendees as CSV. The event's organizer or an admin only.
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../../app/deps.ts';
import { attendeeSeats, eventStats, statsWindowMinutes } from '../../app/event-stats.ts';
import type { AttendeeSeat } from '../../app/ports/event-stats.ts';
import type { StatsFeedHub } from '../../app/stats-feed-hub.ts';
import type { StreamSlots } from '../../app/stream-slots.ts';
import { seatIdOf } from '../../domain/seat-map.ts';
import { requireUser, signedIn } from '../plugins/auth.ts';
import { bearerAuth, responses } from '../schemas/common.ts';
import { csvLine } from '../csv.ts';
import { openStream, statsFeedBytes } from '../sse.ts';

const EventParams = Type.Object({ event_id: Type.String({ minLength: 1, maxLength: 100 }) });
const Count = (description?: string) => Type.Integer({ minimum: 0, description });
const Cents = (description?: string) => Type.Integer({ description });

export const EventStats = Type.Object({
  event_id: Type.String(),
  name: Type.String(),
  status: Type.String(),
  currency: Type.String(),
  as_of: Type.String({ description: 'when these figures were read' }),
  seats: Type.Object(
    {
      total: Count(),
      sold: Count('booked now'),
      held: Count('in a live hold (being bought)'),
      available: Count('for sale now'),
      blocked: Count("off sale in the organizer's blocks (POST …/blocks)"),
      source: Type.Union([Type.Literal('cache'), Type.Literal('database')], {
        description: 'cache: the live seat map; database: PostgreSQL, read while the seat map cannot answer',
      }),
    },
    { description: 'Seats now, from the live seat map (the same states buyers see)' },
  ),
  sales: Type.Object(
    {
      bookings: Count('bookings made'),
      bookings_cancelled: Count('bookings with every seat taken back'),
      seats_booked: Count('seats booked, ever'),
      seats_cancelled: Count('seats taken back (buyer cancellations, organizer refunds, the event cancelled)'),
      seats_sold: Count('seats booked less seats taken back'),
      gross_cents: Cents('what the bookings paid'),
      refunded_cents: Cents('refunds of bookings that succeeded'),
      net_cents: Cents('gross less refunded'),
    },
    {
      description:
        "From the fact bus's stats consumer: a moment behind seats.sold while a sale is busy, equal once it has caught up",
    },
  ),
  tiers: Type.Array(
    Type.Object({
      price_tier: Type.String(),
      name: Type.String(),
      price_cents: Cents(),
      seats_total: Count(),
      seats_sold: Count('booked now'),
      revenue_cents: Cents('what the seats booked now were sold for'),
    }),
    { description: "Revenue by price tier, every tier of the event's map" },
  ),
  bookings_per_minute: Type.Object({
    window_minutes: Type.Integer({ description: `the last ${statsWindowMinutes} minutes, this one included` }),
    from: Type.String({ description: "the window's first minute" }),
    minutes: Type.Array(Type.Object({ minute: Type.String(), bookings: Count(), seats: Count() }), {
      description: 'the minutes of the window with bookings, oldest first (a minute not listed had none)',
    }),
  }),
  refunds: Type.Object({
    count: Count('refunds of bookings that succeeded'),
    cents: Cents(),
    failing: Count('refunds the payment provider refused, retried with backoff'),
  }),
  queue: Type.Object(
    {
      enabled: Type.Boolean(),
      paused: Type.Boolean({ description: 'admission stopped by the organizer' }),
      admit_per_minute: Count('the admission rate set'),
      max_active_shoppers: Type.Union([Count(), Type.Null()]),
      waiting: Type.Union([Count(), Type.Null()], {
        description: 'people in line; null when the waiting room could not answer just now',
      }),
      admitted_now: Type.Union([Count(), Type.Null()], {
        description: 'shoppers admitted whose admission has not run out or been used for a booking',
      }),
    },
    { description: 'The waiting room now (0 when the event has none)' },
  ),
});

const csvColumns = [
  'booking_id',
  'buyer',
  'seat_id',
  'section',
  'row',
  'seat',
  'tier',
  'price',
  'currency',
  'status',
  'checked_in_at',
  'booked_at',
];

/** How many digits a currency's minor unit has (2 for USD and EUR, 0 for JPY). */
function minorDigitsOf(currency: string): number {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

function attendeeLine(seat: AttendeeSeat, currency: string, digits: number): string {
  return csvLine([
    seat.bookingId,
    seat.buyer,
    seatIdOf(seat.seatNo),
    seat.section,
    seat.row,
    seat.number,
    seat.priceTier,
    (seat.priceCents / 10 ** digits).toFixed(digits),
    currency,
    seat.status,
    seat.checkedInAtMs === null ? null : new Date(seat.checkedInAtMs).toISOString(),
    new Date(seat.bookedAtMs).toISOString(),
  ]);
}

export function statsRoutes(untypedApp: FastifyInstance, deps: Deps, hub: StatsFeedHub, slots: StreamSlots) {
  const app = untypedApp.withTypeProvider<TypeBoxTypeProvider>();
  const viewerOf = (user: { id: string; role: string }) => ({ userId: user.id, role: user.role });

  app.get(
    '/v1/events/:event_id/stats',
    {
      preValidation: signedIn(),
      schema: {
        tags: ['organizer'],
        summary: "Your event's sale, live: seats, revenue by tier, bookings per minute, the waiting room, refunds",
        description:
          "The event's organizer or an admin: 403 FORBIDDEN for anyone else, 404 for an unknown event (or " +
          "another organizer's draft). Seats come from the live seat map; sales and refunds from the fact " +
          "bus's stats consumer (equal to the bookings once it has caught up, a second or so at most).",
        security: bearerAuth,
        params: EventParams,
        response: responses({ 200: EventStats }),
      },
    },
    async (request, reply) => {
      reply.header('cache-control', 'no-store');
      return eventStats(deps, viewerOf(requireUser(request)), request.params.event_id);
    },
  );

  app.get(
    '/v1/events/:event_id/stats/stream',
    {
      preValidation: signedIn(),
      config: { inFlightExempt: true },
      schema: {
        tags: ['organizer'],
        summary: "Your event's sale figures, live (Server-Sent Events)",
        description:
          '`stats` events carry the same object as GET …/stats: one at once, then one whenever the figures ' +
          'change, at most one per STATS_STREAM_INTERVAL_MS (1 s). Comments (`: heartbeat`) keep the ' +
          'connection alive. Same access as GET …/stats; 429 `TOO_MANY_STREAMS` when you (or your address) ' +
          'already hold SSE_STREAMS_PER_USER_MAX (SSE_STREAMS_PER_ADDRESS_MAX) live streams here; 503 when this ' +
          'server has as many clients as it takes.',
        security: bearerAuth,
        params: EventParams,
        response: responses({ 200: Type.String({ description: 'text/event-stream' }) }),
      },
    },
    async (request, reply) => {
      const viewer = viewerOf(requireUser(request));
      return openStream(request, reply, slots, statsFeedBytes, (client) =>
        hub.connect(viewer, request.params.event_id, client),
      );
    },
  );

  app.get(
    '/v1/events/:event_id/attendees.csv',
    {
      preValidation: signedIn(),
      config: { inFlightExempt: true },
      schema: {
        tags: ['organizer'],
        summary: "Your event's attendees as CSV: one line per seat of every booking",
        description:
          'Columns: ' +
          csvColumns.join(', ') +
          '. One line per seat a booking has or had, in the order the bookings were made: `status` booked, or ' +
          'refunded (taken back: its ticket is revoked); `buyer` is the address the booking was made with, else ' +
          "the buyer's user id; `price` in the currency's units (e.g. 90.00); `checked_in_at` empty until the " +
          "ticket is scanned. RFC 4180 quoting; a text that starts with = + - @ is prefixed with ' so a " +
          'spreadsheet does not run it. Streamed (an event may have 100,000 seats). Same access as GET …/stats.',
        security: bearerAuth,
        params: EventParams,
        response: responses({ 200: Type.Unsafe<Readable>({ type: 'string', description: 'text/csv' }) }),
      },
    },
    async (request, reply) => {
      const { event, pages } = await attendeeSeats(deps, viewerOf(requireUser(request)), request.params.event_id);
      const digits = minorDigitsOf(event.currency);
      async function* lines() {
        yield csvLine(csvColumns);
        for await (const page of pages) yield page.map((seat) => attendeeLine(seat, event.currency, digits)).join('');
      }
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="attendees-${event.id}.csv"`)
        .header('cache-control', 'private, no-store')
        .send(Readable.from(lines()));
    },
  );
}
