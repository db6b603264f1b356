// After the sale: the payment provider's webhook, the test provider's bank, buyers
// cancelling, organizers refunding, and the progress of an event's cancellation.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { cancelMyBooking, eventCancellationProgress, refundBookingAsOrganizer } from '../../app/cancellations.ts';
import type { Deps } from '../../app/deps.ts';
import { handleWebhook } from '../../app/payments.ts';
import { WebhookSignatureError } from '../../app/ports/payments.ts';
import { DomainError } from '../../domain/errors.ts';
import { requireRole, requireUser, signedIn } from '../plugins/auth.ts';
import { bearerAuth, responses, Text } from '../schemas/common.ts';
import { Booking } from './reservations.ts';

const Id = Type.String({ minLength: 1, maxLength: 100 });
const BookingParams = Type.Object({ booking_id: Id });
const SeatIds = Type.Array(Text(1, 32), {
  minItems: 1,
  maxItems: 1_000,
  description: 'absent: every seat the booking still holds',
});

/** The test provider's own controls (it plays the buyer's bank). */
interface BankPlayingProvider {
  complete(paymentId: string, outcome: 'succeeded' | 'failed'): Promise<unknown> | unknown;
}

function playsTheBank(payments: unknown): payments is BankPlayingProvider {
  return typeof (payments as Partial<BankPlayingProvider>).complete === 'function';
}

export function paymentRoutes(untypedApp: FastifyInstance, deps: Deps) {
  const app = untypedApp.withTypeProvider<TypeBoxTypeProvider>();

  // The signature covers the exact bytes the provider sent: this route reads its body as text.
  app.register(async (raw) => {
    raw.removeContentTypeParser('application/json');
    raw.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    raw.withTypeProvider<TypeBoxTypeProvider>().post(
      '/v1/payments/webhook',
      {
        schema: {
          tags: ['payments'],
          summary: "The payment provider's events (Stripe's format and signature)",
          description:
            'Each provider event is applied once: a payment that succeeded books its hold (or, when the hold was ' +
            'lost, is refunded), one that failed releases it. 400 WEBHOOK_SIGNATURE_INVALID when the ' +
            'Stripe-Signature header does not match the body; nothing changes.',
          headers: Type.Object({ 'stripe-signature': Type.Optional(Type.String({ maxLength: 4096 })) }),
          body: Type.String({ maxLength: 1024 * 1024 }),
          response: responses({ 200: Type.Object({ received: Type.Literal(true), result: Type.String() }) }),
        },
      },
      async (request) => {
        try {
          const { result } = await handleWebhook(deps, request.body, request.headers['stripe-signature']);
          return { received: true as const, result };
        } catch (error) {
          if (error instanceof WebhookSignatureError) {
            throw new DomainError('WEBHOOK_SIGNATURE_INVALID', error.message || 'the webhook signature does not match');
          }
          throw error;
        }
      },
    );
  });

  if (deps.payments.name === 'test' && playsTheBank(deps.payments)) {
    const bank = deps.payments;
    app.post(
      '/v1/dev/payments/:payment_id/complete',
      {
        preValidation: signedIn(),
        schema: {
          tags: ['demo'],
          summary: "Test provider only: play the buyer's bank for a pending payment (3-D Secure)",
          description: "The provider then sends its webhook, as Stripe's would: the hold is booked or released.",
          security: bearerAuth,
          params: Type.Object({ payment_id: Id }),
          body: Type.Object(
            { outcome: Type.Union([Type.Literal('succeeded'), Type.Literal('failed')]) },
            { additionalProperties: false },
          ),
          response: responses({ 200: Type.Object({ payment_id: Type.String(), status: Type.String() }) }),
        },
      },
      async (request) => {
        try {
          await bank.complete(request.params.payment_id, request.body.outcome);
        } catch {
          throw new DomainError('PAYMENT_NOT_FOUND', `no pending payment ${request.params.payment_id}`);
        }
        return { payment_id: request.params.payment_id, status: request.body.outcome };
      },
    );
  }

  app.post(
    '/v1/bookings/:booking_id/cancel',
    {
      // No body at all means the whole booking, as {} does: Fastify validates an absent body
      // against the schema (and refuses it as not an object), so it is made {} first. A body
      // that is there (JSON null included) is validated as sent.
      preValidation: [
        signedIn(),
        async (request) => {
          if (request.body === undefined) request.body = {};
        },
      ],
      schema: {
        tags: ['bookings'],
        summary: "Cancel your booking, or some of its seats, under the event's refund policy",
        description:
          'The seats go back on sale at once and their price, less the policy fee, is refunded. 409 ' +
          'REFUND_WINDOW_CLOSED when the event does not allow it or it is too close to the event. Safe to retry: ' +
          'seats already cancelled are not refunded again (an Idempotency-Key header is accepted).',
        security: bearerAuth,
        params: BookingParams,
        headers: Type.Object({ 'idempotency-key': Type.Optional(Type.String({ maxLength: 255 })) }),
        body: Type.Optional(Type.Object({ seat_ids: Type.Optional(SeatIds) }, { additionalProperties: false })),
        response: responses({ 200: Booking }),
      },
    },
    async (request) =>
      cancelMyBooking(deps, {
        userId: requireUser(request).id,
        bookingId: request.params.booking_id,
        seatIds: request.body?.seat_ids,
      }),
  );

  app.post(
    '/v1/bookings/:booking_id/refund',
    {
      preValidation: signedIn('organizer'),
      schema: {
        tags: ['bookings'],
        summary: 'Refund a booking of your event, or some of its seats, in full (organizers, any time)',
        security: bearerAuth,
        params: BookingParams,
        body: Type.Object({ seat_ids: Type.Optional(SeatIds), reason: Text(1, 500) }, { additionalProperties: false }),
        response: responses({ 200: Booking }),
      },
    },
    async (request) =>
      refundBookingAsOrganizer(deps, {
        organizerId: requireRole(request, 'organizer').id,
        bookingId: request.params.booking_id,
        seatIds: request.body.seat_ids,
        reason: request.body.reason,
      }),
  );

  app.get(
    '/v1/events/:event_id/cancellation',
    {
      preValidation: signedIn('organizer'),
      schema: {
        tags: ['events'],
        summary: "Progress of your cancelled event's refunds (organizers)",
        description:
          'Cancelling an event (PATCH status: cancelled) starts a job that ends its holds and refunds every booking.',
        security: bearerAuth,
        params: Type.Object({ event_id: Id }),
        response: responses({
          200: Type.Object({
            status: Type.Union([Type.Literal('running'), Type.Literal('done')]),
            bookings: Type.Union([Type.Integer(), Type.Null()], { description: 'null until the job has started' }),
            refunded: Type.Integer(),
            failed: Type.Integer({ description: 'refunds the provider refused so far (tried again)' }),
            started_at: Type.Union([Type.String(), Type.Null()]),
            finished_at: Type.Union([Type.String(), Type.Null()]),
          }),
        }),
      },
    },
    async (request) => eventCancellationProgress(deps, requireRole(request, 'organizer').id, request.params.event_id),
  );
}
