// My bookings, newest first: each with its seats, what was paid and what was refunded, its
// tickets (QR codes and a PDF, pages/booking-tickets.ts), and, while the event's refund
// policy allows it, a way to cancel (all of it or some seats) that shows the refund and the
// fee before the buyer confirms.
import { api, describeError, type Booking, type EventDetail, type Refund } from '../api.ts';
import { h, replace } from '../dom.ts';
import { dateTime, money } from '../format.ts';
import type { PageContext } from '../main.ts';
import { cancelWindow, refundQuote } from '../refund-policy.ts';
import { seatLabel } from '../seat-labels.ts';
import { currentSession } from '../session.ts';
import { createBookingTickets } from './booking-tickets.ts';
import { createHeldSeatsList } from './held-seats-list.ts';

type EventFacts = Pick<EventDetail, 'name' | 'starts_at' | 'status' | 'refund_policy'>;

export async function renderBookings(context: PageContext) {
  if (!context.requireSignIn()) return;
  context.setTitle('My bookings');
  const list = h('ul', { class: 'booking-list', 'data-testid': 'booking-list' });
  const email = currentSession()?.email;
  const held = createHeldSeatsList();
  replace(
    context.root,
    h('h1', {}, 'My bookings'),
    email ? h('p', { class: 'hint', 'data-testid': 'mail-to' }, `Confirmations are mailed to ${email}.`) : null,
    held.element,
    list,
  );
  try {
    const { bookings } = await api<{ bookings: Booking[] }>('/v1/me/bookings');
    if (bookings.length === 0) {
      replace(
        list,
        h('li', { class: 'hint' }, 'No bookings yet. ', h('a', { href: '/', 'data-link': true }, 'Find an event')),
      );
      return held.stop;
    }
    const events = new Map<string, EventFacts | null>();
    await Promise.all(
      [...new Set(bookings.map((booking) => booking.event_id))].map(async (eventId) => {
        events.set(eventId, await api<EventDetail>(`/v1/events/${encodeURIComponent(eventId)}`).catch(() => null));
      }),
    );
    replace(list, ...bookings.map((booking) => myBookingCard(context, booking, events.get(booking.event_id) ?? null)));
  } catch (error) {
    replace(list, h('li', { class: 'form-error', role: 'alert' }, describeError(error)));
  }
  return held.stop;
}

const eventLine = (event: EventFacts | null) =>
  event ? `${event.name} · ${dateTime(event.starts_at)}` : 'Event no longer listed';

/** A booking in My bookings: the card, its tickets, and its cancellation under the event's policy. */
function myBookingCard(context: PageContext, booking: Booking, event: EventFacts | null): HTMLLIElement {
  const card = bookingCard(booking, eventLine(event));
  if (booking.seats.length > 0) {
    card.append(createBookingTickets(booking.booking_id), cancelControls(context, booking, event, card));
  }
  return card;
}

const bookingStatusText: Record<Booking['status'], string> = {
  confirmed: 'Confirmed',
  partially_cancelled: 'Partially cancelled',
  cancelled: 'Cancelled',
};

const refundReasonText: Record<Refund['reason'], string> = {
  buyer_cancelled: 'you cancelled',
  organizer: 'refunded by the organizer',
  event_cancelled: 'the event was cancelled',
  hold_lost: 'the hold ended before the payment',
};

const refundStatusText: Record<Refund['status'], string> = {
  pending: 'Refund pending',
  succeeded: 'Refunded',
  failed: 'Refund failed: trying again',
};

const seatsText = (count: number) => (count === 1 ? '1 seat' : `${count} seats`);

function refundItem(refund: Refund, currency: string) {
  return h(
    'li',
    { 'data-refund-id': refund.refund_id, 'data-status': refund.status },
    `${money(refund.amount_cents, currency)} for ${seatsText(refund.seat_ids.length)}`,
    refund.fee_cents > 0 ? ` (fee ${money(refund.fee_cents, currency)} kept)` : '',
    ` · ${refundReasonText[refund.reason]} · ${dateTime(refund.created_at)} `,
    h('span', { class: `refund-status refund-status-${refund.status}` }, refundStatusText[refund.status]),
  );
}

export function bookingCard(booking: Booking, eventName: string) {
  const refunds = booking.refunds ?? [];
  return h(
    'li',
    { class: 'booking-card', 'data-booking-id': booking.booking_id, 'data-status': booking.status },
    h(
      'div',
      { class: 'booking-head' },
      h('a', { href: `/events/${booking.event_id}`, 'data-link': true, class: 'event-name' }, eventName),
      h(
        'span',
        { class: `booking-status booking-status-${booking.status}`, 'data-testid': 'booking-status' },
        bookingStatusText[booking.status],
      ),
    ),
    h('div', { class: 'event-meta' }, `Booking ${booking.booking_id} · booked ${dateTime(booking.created_at)}`),
    booking.seats.length > 0
      ? h('ul', { class: 'seat-chips' }, ...booking.seats.map((seat) => h('li', {}, seatLabel(seat))))
      : h('p', { class: 'hint booking-empty' }, 'No seats left in this booking.'),
    h(
      'div',
      { class: 'total' },
      `Total ${money(booking.total_cents, booking.currency)}`,
      refunds.length > 0
        ? ` · refunded ${money(
            refunds.reduce((sum, refund) => sum + refund.amount_cents, 0),
            booking.currency,
          )}`
        : null,
    ),
    refunds.length > 0
      ? h(
          'div',
          { class: 'refunds', 'data-testid': 'refunds' },
          h('h3', {}, 'Refunds'),
          h('ul', { class: 'refund-list' }, ...refunds.map((refund) => refundItem(refund, booking.currency))),
        )
      : null,
  );
}

/** Why a booking cannot be cancelled now, in the buyer's words; or until when it can. */
function cancelNote(event: EventFacts | null, nowMs: number): { open: boolean; text: string } {
  if (!event) return { open: false, text: 'This event is no longer listed: ask its organizer about a refund.' };
  const cancellation = cancelWindow(event, nowMs);
  if (cancellation.open) {
    const feePercent = event.refund_policy?.fee_percent ?? 0;
    const until = dateTime(new Date(cancellation.closesAtMs).toISOString());
    return {
      open: true,
      text:
        `You can cancel until ${until}` +
        (feePercent > 0 ? `; a ${feePercent}% fee is kept.` : ', with a full refund.'),
    };
  }
  return { open: false, text: closedReason(event, cancellation) };
}

function closedReason(event: EventFacts, cancellation: Extract<ReturnType<typeof cancelWindow>, { open: false }>) {
  switch (cancellation.why) {
    case 'event_cancelled':
      return 'This event was cancelled: every booking is refunded in full, nothing to do.';
    case 'no_policy':
      return 'This event does not allow cancellations.';
    case 'closed':
      return `Cancellations closed on ${dateTime(new Date(cancellation.closesAtMs!).toISOString())}, ${event.refund_policy!.buyer_cancel_until_hours} hours before the event.`;
  }
}

/**
 * "Cancel booking": closed with its reason, or open: a choice of seats (all by default), the
 * refund and fee for that choice, then the cancellation, and the card again as it is now.
 */
function cancelControls(context: PageContext, booking: Booking, event: EventFacts | null, card: HTMLLIElement) {
  const note = cancelNote(event, Date.now());
  const reasonId = `cancel-reason-${booking.booking_id}`;
  const open = h(
    'button',
    {
      type: 'button',
      'data-testid': 'cancel-booking',
      'aria-expanded': 'false',
      'aria-describedby': reasonId,
      disabled: !note.open,
    },
    'Cancel booking',
  );
  const controls = h(
    'div',
    { class: 'booking-cancel' },
    h(
      'div',
      { class: 'booking-cancel-bar' },
      open,
      h('span', { class: 'hint', id: reasonId, 'data-testid': 'cancel-note' }, note.text),
    ),
  );
  const policy = event?.refund_policy;
  if (!note.open || !event || !policy) return controls;

  const formId = `cancel-form-${booking.booking_id}`;
  const seatBoxes = booking.seats.map((seat) =>
    h('input', { type: 'checkbox', name: 'seat', value: seat.seat_id, checked: true }),
  );
  const quote = h('p', { class: 'refund-quote', 'data-testid': 'refund-quote', 'aria-live': 'polite' });
  const confirm = h('button', { type: 'submit', class: 'danger', 'data-testid': 'confirm-cancel' }, '');
  const keep = h('button', { type: 'button' }, 'Keep my booking');
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h(
    'form',
    { class: 'booking-cancel-form', id: formId, 'aria-label': `Cancel booking ${booking.booking_id}`, hidden: true },
    booking.seats.length > 1
      ? h(
          'fieldset',
          {},
          h('legend', {}, 'Seats to cancel'),
          ...booking.seats.map((seat, index) =>
            h(
              'label',
              { class: 'choice' },
              seatBoxes[index]!,
              ` ${seatLabel(seat)} · ${money(seat.price_cents, booking.currency)}`,
            ),
          ),
        )
      : null,
    quote,
    h('div', { class: 'actions' }, confirm, keep),
    error,
  );
  open.setAttribute('aria-controls', formId);
  controls.append(form);

  const chosen = () => booking.seats.filter((_, index) => seatBoxes[index]!.checked);
  const showQuote = () => {
    const seats = chosen();
    confirm.disabled = seats.length === 0;
    const all = seats.length === booking.seats.length;
    confirm.textContent = all ? 'Confirm: cancel the booking' : `Confirm: cancel ${seatsText(seats.length)}`;
    if (seats.length === 0) {
      quote.textContent = 'Choose at least one seat to cancel.';
      return;
    }
    const { valueCents, feeCents, refundCents } = refundQuote(
      seats.map((seat) => seat.price_cents),
      policy.fee_percent,
    );
    const currency = booking.currency;
    replace(
      quote,
      'You get back ',
      h('strong', { 'data-testid': 'refund-amount' }, money(refundCents, currency)),
      feeCents > 0
        ? `: ${seatsText(seats.length)} at ${money(valueCents, currency)}, less the ${policy.fee_percent}% cancellation fee of `
        : `: ${seatsText(seats.length)} at ${money(valueCents, currency)}, no cancellation fee.`,
      feeCents > 0 ? h('strong', { 'data-testid': 'refund-fee' }, money(feeCents, currency)) : null,
      feeCents > 0 ? '.' : null,
    );
  };
  form.addEventListener('change', showQuote);

  // One key per confirmation: a retry of the same one (a lost answer) is not a second cancellation.
  let idempotencyKey: string | null = null;
  open.addEventListener('click', () => {
    const opening = form.hidden;
    form.hidden = !opening;
    open.setAttribute('aria-expanded', String(opening));
    if (opening) {
      error.textContent = '';
      showQuote();
      (booking.seats.length > 1 ? seatBoxes[0]! : confirm).focus();
    }
  });
  keep.addEventListener('click', () => {
    form.hidden = true;
    open.setAttribute('aria-expanded', 'false');
    open.focus();
  });
  form.addEventListener('submit', async (submitEvent) => {
    submitEvent.preventDefault();
    const seats = chosen();
    if (seats.length === 0) return;
    idempotencyKey ??= crypto.randomUUID();
    confirm.disabled = keep.disabled = true;
    error.textContent = '';
    form.setAttribute('aria-busy', 'true');
    try {
      const updated = await api<Booking>(`/v1/bookings/${encodeURIComponent(booking.booking_id)}/cancel`, {
        method: 'POST',
        body: seats.length === booking.seats.length ? {} : { seat_ids: seats.map((seat) => seat.seat_id) },
        headers: { 'idempotency-key': idempotencyKey },
      });
      const refunded = (updated.refunds ?? []).at(-1);
      context.notify(
        refunded
          ? `Cancelled: ${money(refunded.amount_cents, updated.currency)} goes back to your card.`
          : 'Cancelled.',
        'success',
      );
      const next = myBookingCard(context, updated, event);
      card.replaceWith(next);
      next.querySelector<HTMLElement>('[data-testid="booking-status"]')?.setAttribute('tabindex', '-1');
      next.querySelector<HTMLElement>('[data-testid="booking-status"]')?.focus();
    } catch (failure) {
      form.removeAttribute('aria-busy');
      confirm.disabled = keep.disabled = false;
      error.textContent = describeError(failure);
    }
  });
  return controls;
}
