import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from 'typebox';
import { getBooking, listMyBookings } from '../../app/bookings.ts';
import { confirmReservation } from '../../app/confirm-reservation.ts';
import type { Deps } from '../../app/deps.ts';
import { cancelReservation, getReservation, listMyReservations, myReservationsMax } from '../../app/reservations.ts';
import { requireUser, signedIn } from '../plugins/auth.ts';
import { bearerAuth, responses, Seat, Text } from '../schemas/common.ts';

export const Reservation = Type.Object({
  reservation_id: Type.String(),
  event_id: Type.String(),
  status: Type.Union([
    Type.Literal('active'),
    Type.Literal('confirmed'),
    Type.Literal('cancelled'),
    Type.Literal('expired'),
  ]),
  created_at: Type.String(),
  expires_at: Type.String(),
  seats: Type.Array(Seat),
  total_cents: Type.Integer(),
  currency: Type.String(),
  booking_id: Type.Union([Type.String(), Type.Null()]),
  payment_status: Type.Optional(
    Type.Union(
      [
        Type.Literal('started'),
        Type.Literal('requires_action'),
        Type.Literal('processing'),
        Type.Literal('succeeded'),
        Type.Literal('failed'),
        Type.Literal('voided'),
      ],
      { description: "the latest payment attempt's state; absent before any" },
    ),
  ),
});

export const Refund = Type.Object({
  refund_id: Type.String(),
  amount_cents: Type.Integer(),
  fee_cents: Type.Integer({ description: 'kept under the refund policy' }),
  seat_ids: Type.Array(Type.String()),
  reason: Type.Union([
    Type.Literal('buyer_cancelled'),
    Type.Literal('organizer'),
    Type.Literal('event_cancelled'),
    Type.Literal('hold_lost'),
  ]),
  status: Type.Union([Type.Literal('pending'), Type.Literal('succeeded'), Type.Literal('failed')], {
    description: 'failed: the provider refused; it is tried again',
  }),
  created_at: Type.String(),
});

export const Booking = Type.Object({
  booking_id: Type.String(),
  reservation_id: Type.String(),
  event_id: Type.String(),
  status: Type.Union([Type.Literal('confirmed'), Type.Literal('partially_cancelled'), Type.Literal('cancelled')]),
  seats: Type.Array(Seat, { description: 'the seats it still holds' }),
  total_cents: Type.Integer({ description: 'what was paid' }),
  currency: Type.String(),
  created_at: Type.String(),
  refunds: Type.Optional(Type.Array(Refund)),
});

const PendingPayment = Type.Object({
  reservation_id: Type.String(),
  status: Type.Literal('payment_pending'),
  expires_at: Type.String({ description: 'the hold is kept until then while the payment is pending' }),
  payment: Type.Object({
    payment_id: Type.String(),
    status: Type.Union([Type.Literal('requires_action'), Type.Literal('processing')]),
    client_secret: Type.Optional(Type.String()),
    next_action: Type.Optional(
      Type.Object({ type: Type.Literal('redirect_to_url'), url: Type.String({ description: "the bank's page" }) }),
    ),
  }),
});

const MyReservation = Type.Object({ ...Reservation.properties, event_name: Type.String() });

const Id = Type.String({ minLength: 1, maxLength: 100 });
const ReservationParams = Type.Object({ reservation_id: Id });
const BookingParams = Type.Object({ booking_id: Id });

export function reservationRoutes(untypedApp: FastifyInstance, deps: Deps) {
  const app = untypedApp.withTypeProvider<TypeBoxTypeProvider>();
  app.get(
    '/v1/reservations/:reservation_id',
    {
      preValidation: signedIn(),
      schema: {
        tags: ['reservations'],
        summary: 'Your reservation',
        security: bearerAuth,
        params: ReservationParams,
        response: responses({ 200: Reservation }),
      },
    },
    async (request) => getReservation(deps, requireUser(request).id, request.params.reservation_id),
  );

  app.post(
    '/v1/reservations/:reservation_id/confirm',
    {
      preValidation: signedIn(),
      config: { rateLimited: true },
      schema: {
        tags: ['reservations'],
        summary: 'Pay and turn the hold into a booking (idempotent under Idempotency-Key)',
        description:
          "With the event's waiting room on, send your admission token (valid while you are still admitted: " +
          'after a purchase that leaves you no other hold of the event it is spent): else 403 ADMISSION_REQUIRED. ' +
          'A hold on an event cancelled since, before or while paying, is not booked: 409 EVENT_CANCELLED (a charge ' +
          'made meanwhile is refunded, refunded: true). When another confirmation took the payment over while this ' +
          'one was paying: 409 PAYMENT_IN_PROGRESS with refunded: true (that confirmation pays). When the bank ' +
          'asks the buyer for a step (3-D Secure) or the payment is still processing: 202 payment_pending; the ' +
          "hold is kept while it is pending, and the provider's webhook books it (or releases it). A retry with " +
          'the same key answers the state then: 201 once booked, 402 once failed, 202 while pending. When the ' +
          "event has max_seats_per_card and this card's seats at the event (booked and not refunded, or being " +
          "paid for now, from any account) plus this reservation's would exceed it: 409 CARD_LIMIT_REACHED with " +
          'max_seats_per_card, card_seats and reservation_seats; nothing is charged or stored under the key and ' +
          'the hold is kept (pay with another card under a new key). If the provider cannot be asked about the ' +
          'card then: 503 PAYMENT_PROVIDER_UNAVAILABLE with Retry-After, nothing charged.',
        security: bearerAuth,
        params: ReservationParams,
        headers: Type.Object({
          'idempotency-key': Type.Optional(Type.String({ description: '1-255 visible ASCII characters' })),
          'x-admission-token': Type.Optional(
            Type.String({ maxLength: 4096, description: 'from the waiting room, when the event has one' }),
          ),
        }),
        body: Type.Object(
          {
            payment_method: Text(1, 100, {
              description:
                'test provider: pm_card_visa, pm_card_mastercard, pm_card_amex, pm_card_chargeDeclined, ' +
                'pm_card_threeDSecure2Required, pm_card_processing, each a card of its own; <method>.<name> is that ' +
                'method on the card called <name> (the same name, the same card fingerprint)',
            }),
          },
          { additionalProperties: false },
        ),
        response: responses({ 201: Booking, 202: PendingPayment }),
      },
    },
    async (request, reply) => {
      const user = requireUser(request);
      const result = await confirmReservation(deps, {
        userId: user.id,
        reservationId: request.params.reservation_id,
        paymentMethod: request.body.payment_method,
        idempotencyKey: request.headers['idempotency-key'],
        admissionToken: request.headers['x-admission-token'],
        email: user.email ?? null,
      });
      if (result.replayed) reply.header('idempotent-replayed', 'true');
      // A stored answer (JSON from the idempotency table) has the shape the use case gave it.
      if (result.pending) return reply.code(202).send(result.booking as Static<typeof PendingPayment>);
      return reply.code(201).send(result.booking as Static<typeof Booking>);
    },
  );

  app.delete(
    '/v1/reservations/:reservation_id',
    {
      preValidation: signedIn(),
      schema: {
        tags: ['reservations'],
        summary: 'Cancel your hold: the seats are available at once',
        security: bearerAuth,
        params: ReservationParams,
        response: responses({ 204: Type.Null() }),
      },
    },
    async (request, reply) => {
      await cancelReservation(deps, requireUser(request).id, request.params.reservation_id);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/bookings/:booking_id',
    {
      preValidation: signedIn(),
      schema: {
        tags: ['bookings'],
        summary: 'Your booking',
        security: bearerAuth,
        params: BookingParams,
        response: responses({ 200: Booking }),
      },
    },
    async (request) => getBooking(deps, requireUser(request).id, request.params.booking_id),
  );

  app.get(
    '/v1/me/bookings',
    {
      preValidation: signedIn(),
      schema: {
        tags: ['bookings'],
        summary: 'Your bookings, newest first',
        security: bearerAuth,
        response: responses({ 200: Type.Object({ bookings: Type.Array(Booking) }) }),
      },
    },
    async (request) => listMyBookings(deps, requireUser(request).id),
  );

  app.get(
    '/v1/me/reservations',
    {
      preValidation: signedIn(),
      schema: {
        tags: ['reservations'],
        summary: 'Your reservations, newest first',
        description:
          `At most ${myReservationsMax}. status=active (the default): the holds that still keep seats for you now, ` +
          'active and before expires_at; status=all: every reservation, whatever became of it.',
        security: bearerAuth,
        querystring: Type.Object(
          { status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('all')], { default: 'active' })) },
          { additionalProperties: false },
        ),
        response: responses({ 200: Type.Object({ reservations: Type.Array(MyReservation) }) }),
      },
    },
    async (request) => listMyReservations(deps, requireUser(request).id, request.query.status !== 'all'),
  );
}
