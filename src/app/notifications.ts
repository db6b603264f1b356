// Notifications: which facts are told to whom (the notifications consumer queues the
// mails in the transaction that records the facts it applied), and the sender that
// renders and sends queued mail, retrying failures with backoff. A mail is sent once per
// fact; only a crash between the SMTP server's acceptance and the row's update sends it
// again, under the same Message-ID.
import { createHash } from 'node:crypto';
import type { Deps } from './deps.ts';
import { backoffMs } from '../domain/retry.ts';
import { bookingConfirmedMail, eventCancelledMail, refundMail, yourTurnMail } from './mail-messages.ts';
import type { Fact } from './ports/facts.ts';
import type { MailJob, QueuedMail } from './ports/mail-queue.ts';
import type { OutgoingMail } from './ports/notifications.ts';
import type { AdmissionNotice } from './ports/waiting-room.ts';
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

/**
 * The "your turn" mail of one admission. It is no fact of the outbox (the waiting room
 * lives in Redis or in memory); its id names the admission, so handing it on again (a
 * process died between queueing it and dropping the notice) queues it once.
 */
export function yourTurnJob(eventId: string, notice: AdmissionNotice): MailJob {
  const name = `your_turn:${eventId}:${notice.userId}:${notice.expiresAtMs}`;
  const hex = createHash('sha256').update(name).digest('hex');
  const factId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  return {
    id: `${factId}.your_turn`,
    factId,
    kind: 'your_turn',
    to: notice.email,
    payload: { event_id: eventId, user_id: notice.userId, admission_expires_at_ms: notice.expiresAtMs },
  };
}

async function render(deps: Deps, mail: QueuedMail, webUrl: string): Promise<OutgoingMail | null> {
  // What mailsFor() and yourTurnJob() put in, by kind.
  const payload = mail.payload as {
    booking_id: string;
    event_id: string;
    admission_expires_at_ms: number;
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
    case 'your_turn': {
      // Late (the sender was down or retrying): an admission already over is not news.
      const leftMs = payload.admission_expires_at_ms - deps.clock.nowMs();
      const event = await deps.events.findEvent(payload.event_id);
      if (!event || leftMs <= 0) return null;
      return yourTurnMail({
        factId: mail.factId,
        to: mail.to,
        eventName: event.name,
        admissionWindowSeconds: Math.floor(leftMs / 1000),
        url: `${webUrl}/events/${event.id}`,
      });
    }
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
