// Notifications: which facts are told to whom (the notifications consumer queues the
// mails in the transaction that records the facts it applied), and the sender that
// renders and sends queued mail, retrying failures with backoff. A mail is sent once per
// fact; only a crash between the SMTP server's acceptance and the row's update sends it
// again, under the same Message-ID.
import type { Deps } from './deps.ts';
import { backoffMs } from '../domain/retry.ts';
import { bookingConfirmedMail, eventCancelledMail, refundMail } from './mail-messages.ts';
import type { Fact } from './ports/facts.ts';
import type { MailJob, QueuedMail } from './ports/mail-queue.ts';
import type { OutgoingMail } from './ports/notifications.ts';
import { ticketsOf } from './tickets.ts';

/** The mails a fact calls for (none when the buyer gave no address). */
export function mailsFor(fact: Fact): MailJob[] {
  const to = typeof fact.payload.email === 'string' ? fact.payload.email : null;
  if (!to) return [];
  const job = (kind: MailJob['kind'], payload: Record<string, unknown>): MailJob[] => [
    { id: `${fact.factId}.${kind}`, factId: fact.factId, kind, to, payload },
  ];
  switch (fact.type) {
    case 'booking.confirmed':
      return job('booking_confirmed', { booking_id: fact.payload.booking_id });
    case 'refund.succeeded':
      return job('refund', {
        event_id: fact.eventId,
        refund_id: fact.payload.refund_id,
        amount_cents: fact.payload.amount_cents,
        currency: fact.payload.currency,
        seat_nos: fact.payload.seat_nos,
      });
    case 'booking.cancelled':
      // A buyer's or organizer's cancellation is told by its refund's mail; an event's
      // cancellation is news of its own.
      return fact.payload.reason === 'event_cancelled'
        ? job('event_cancelled', {
            event_id: fact.eventId,
            booking_id: fact.payload.booking_id,
            refund_cents: fact.payload.refund_cents,
            currency: fact.payload.currency,
          })
        : [];
    default:
      return [];
  }
}

async function render(deps: Deps, mail: QueuedMail, webUrl: string): Promise<OutgoingMail | null> {
  // What mailsFor() put in, by kind.
  const payload = mail.payload as {
    booking_id: string;
    event_id: string;
    seat_nos?: number[];
    amount_cents: number;
    refund_cents: number;
    currency: string;
  };
  switch (mail.kind) {
    case 'booking_confirmed': {
      const booking = await deps.bookings.findBooking(payload.booking_id);
      if (!booking) return null;
      const tickets = await ticketsOf(deps, booking);
      const pdf = await deps.documents.ticketsPdf(tickets);
      return bookingConfirmedMail({ factId: mail.factId, to: mail.to, booking: tickets, pdf, webUrl });
    }
    case 'refund': {
      const event = await deps.events.findEvent(payload.event_id);
      const seats = await deps.events.seatDetails(payload.event_id, payload.seat_nos ?? []);
      return refundMail({
        factId: mail.factId,
        to: mail.to,
        eventName: event?.name ?? 'your event',
        amountCents: payload.amount_cents,
        currency: payload.currency,
        seatsDescription: seats.map((seat) => `${seat.section}, row ${seat.row}, seat ${seat.number}`).join('; '),
        status: 'succeeded',
      });
    }
    case 'event_cancelled': {
      const event = await deps.events.findEvent(payload.event_id);
      if (!event) return null;
      return eventCancelledMail({
        factId: mail.factId,
        to: mail.to,
        eventName: event.name,
        startsAt: new Date(event.startsAtMs).toISOString(),
        refundCents: payload.refund_cents,
        currency: payload.currency,
      });
    }
    case 'your_turn':
      return null;
  }
}

/** Sends the due mails (one batch); resolves with how many were sent. */
export async function sendDueMails(deps: Deps, options: { batchSize: number; webUrl: string }): Promise<number> {
  const nowMs = deps.clock.nowMs();
  const retry = deps.settings.mailRetry;
  // Leased past the slowest send: a second process does not send it meanwhile.
  const mails = await deps.mailQueue.claimDue(nowMs, 60_000, options.batchSize);
  let sent = 0;
  for (const mail of mails) {
    try {
      const message = await render(deps, mail, options.webUrl);
      if (message) await deps.mailer.send(message);
      await deps.mailQueue.markSent(mail.id, deps.clock.nowMs());
      sent += 1;
    } catch (error) {
      const delayMs = backoffMs(mail.attempts, retry.baseMs, retry.maxMs);
      await deps.mailQueue.markFailed(mail.id, String((error as Error)?.message ?? error), nowMs + delayMs);
    }
  }
  return sent;
}
