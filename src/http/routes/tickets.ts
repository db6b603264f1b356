// Tickets: a booking's tickets with their signed codes, a ticket's QR code, the booking's
// tickets as a PDF, and check-in at the door.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import type { Deps } from '../../app/deps.ts';
import { checkIn, myTicketQr, myTickets, myTicketsPdf } from '../../app/tickets.ts';
import { bookingTicketsJson } from '../../app/views.ts';
import { requireUser, signedIn } from '../plugins/auth.ts';
import { bearerAuth, responses } from '../schemas/common.ts';

const Id = Type.String({ minLength: 1, maxLength: 100 });
const BookingParams = Type.Object({ booking_id: Id });

const Ticket = Type.Object({
  ticket_id: Type.String(),
  seat_id: Type.String(),
  section: Type.String(),
  row: Type.String(),
  number: Type.Integer(),
  status: Type.Union([Type.Literal('valid'), Type.Literal('revoked'), Type.Literal('checked_in')]),
  code: Type.String({ description: 'the signed code its QR carries: BX1.<key id>.<ticket>.<mac>' }),
  checked_in_at: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  booking_id: Type.Optional(Type.String()),
});

export function ticketRoutes(untypedApp: FastifyInstance, deps: Deps) {
  const app = untypedApp.withTypeProvider<TypeBoxTypeProvider>();

  app.get(
    '/v1/bookings/:booking_id/tickets',
    {
      preValidation: signedIn(),
      schema: {
        tags: ['tickets'],
        summary: "Your booking's tickets: one per seat, with the code its QR carries",
        description: 'A refunded seat\'s ticket is listed as "revoked"; a scanned one as "checked_in".',
        security: bearerAuth,
        params: BookingParams,
        response: responses({
          200: Type.Object({
            booking_id: Type.String(),
            event: Type.Object({
              name: Type.String(),
              venue: Type.String(),
              city: Type.String(),
              starts_at: Type.String(),
            }),
            tickets: Type.Array(Ticket),
          }),
        }),
      },
    },
    async (request) => bookingTicketsJson(await myTickets(deps, requireUser(request).id, request.params.booking_id)),
  );

  app.get(
    '/v1/bookings/:booking_id/tickets.pdf',
    {
      preValidation: signedIn(),
      schema: {
        tags: ['tickets'],
        summary: "Your booking's tickets as a PDF, one ticket per page with its QR code",
        security: bearerAuth,
        params: BookingParams,
        response: responses({ 200: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }) }),
      },
    },
    async (request, reply) => {
      const pdf = await myTicketsPdf(deps, requireUser(request).id, request.params.booking_id);
      return reply
        .type('application/pdf')
        .header('content-disposition', `inline; filename="tickets-${request.params.booking_id}.pdf"`)
        .header('cache-control', 'private, no-store')
        .send(Buffer.from(pdf));
    },
  );

  app.get(
    '/v1/tickets/:ticket_id/qr.svg',
    {
      preValidation: signedIn(),
      schema: {
        tags: ['tickets'],
        summary: "Your ticket's QR code (SVG)",
        security: bearerAuth,
        params: Type.Object({ ticket_id: Id }),
        response: responses({ 200: Type.Unsafe<string>({ type: 'string' }) }),
      },
    },
    async (request, reply) => {
      const svg = await myTicketQr(deps, requireUser(request).id, request.params.ticket_id);
      return reply.type('image/svg+xml').header('cache-control', 'private, no-store').send(svg);
    },
  );

  app.post(
    '/v1/events/:event_id/checkins',
    {
      preValidation: signedIn('organizer', 'staff'),
      schema: {
        tags: ['tickets'],
        summary: "Check a ticket in at the door (the event's organizer, or staff whose token lists the event)",
        description:
          'Admits a ticket once. 409 ALREADY_CHECKED_IN with checked_in_at for a second scan; 410 TICKET_REVOKED ' +
          "for a refunded seat's ticket; 400 TICKET_INVALID for a forged code, one signed with a retired key, or " +
          "another event's ticket.",
        security: bearerAuth,
        params: Type.Object({ event_id: Id }),
        body: Type.Object({ code: Type.String({ minLength: 1, maxLength: 512 }) }, { additionalProperties: false }),
        response: responses({ 200: Type.Object({ result: Type.Literal('admitted'), ticket: Ticket }) }),
      },
    },
    async (request) => {
      const user = requireUser(request);
      return checkIn(
        deps,
        { userId: user.id, role: user.role, staffEvents: user.events },
        request.params.event_id,
        request.body.code,
      );
    },
  );
}
