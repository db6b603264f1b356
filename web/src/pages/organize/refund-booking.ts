// "Refund a booking": the organizer refunds a booking of one of their events, all of it or
// some seats, in full and at any time (POST /v1/bookings/{id}/refund), and sees the booking
// as its buyer now does.
import { api, ApiError, describeError, type Booking } from '../../api.ts';
import { h, replace } from '../../dom.ts';
import { money } from '../../format.ts';
import type { PageContext } from '../../main.ts';
import { bookingCard } from '../bookings.ts';
import { field } from './fields.ts';

export function createRefundBooking(context: PageContext, signal: AbortSignal) {
  const bookingId = h('input', {
    name: 'booking-id',
    required: true,
    maxlength: 100,
    autocomplete: 'off',
    spellcheck: 'false',
    'data-testid': 'refund-booking-id',
  });
  const seatIds = h('input', { name: 'seat-ids', autocomplete: 'off', spellcheck: 'false' });
  const reason = h('input', { name: 'reason', required: true, maxlength: 500 });
  const submit = h('button', { type: 'submit', class: 'primary', 'data-testid': 'refund-booking' }, 'Refund');
  const error = h('p', { class: 'form-error', role: 'alert' });
  const outcome = h('div', { 'aria-live': 'polite', 'data-testid': 'refund-outcome' });
  const form = h(
    'form',
    { class: 'organize-refund-form', 'aria-labelledby': 'refund-title' },
    h(
      'div',
      { class: 'organize-grid' },
      field('Booking ID', bookingId),
      field('Seats (optional)', seatIds, 'Seat IDs separated by commas; empty: every seat it still holds'),
      field('Reason', reason, 'Kept with the refund'),
    ),
    h('div', { class: 'actions' }, submit),
    error,
  );

  form.addEventListener('submit', async (submitEvent) => {
    submitEvent.preventDefault();
    error.textContent = '';
    const id = bookingId.value.trim();
    const seats = seatIds.value
      .split(/[\s,]+/)
      .map((seat) => seat.trim())
      .filter(Boolean);
    if (!id || !reason.value.trim()) {
      error.textContent = 'A booking ID and a reason are needed.';
      (id ? reason : bookingId).focus();
      return;
    }
    submit.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const booking = await api<Booking>(`/v1/bookings/${encodeURIComponent(id)}/refund`, {
        method: 'POST',
        body: { reason: reason.value.trim(), ...(seats.length > 0 ? { seat_ids: seats } : {}) },
        signal,
      });
      const latest = (booking.refunds ?? []).at(-1);
      const text = latest
        ? `Refunded ${money(latest.amount_cents, booking.currency)} of booking ${booking.booking_id}.`
        : `Booking ${booking.booking_id} had nothing left to refund.`;
      context.notify(text, 'success');
      const event = await api<{ name: string }>(`/v1/events/${encodeURIComponent(booking.event_id)}`, {
        signal,
      }).catch(() => ({ name: 'Your event' }));
      replace(
        outcome,
        h('p', { class: 'organize-outcome' }, text),
        h('ul', { class: 'booking-list' }, bookingCard(booking, event.name)),
      );
      form.reset();
    } catch (failure) {
      if (signal.aborted) return;
      error.textContent =
        failure instanceof ApiError && failure.code === 'BOOKING_NOT_FOUND'
          ? `No booking ${id} among your events' bookings.`
          : describeError(failure);
    } finally {
      submit.disabled = false;
      form.removeAttribute('aria-busy');
    }
  });

  const element = h(
    'section',
    { class: 'panel organize-refund', 'aria-labelledby': 'refund-title', 'data-testid': 'refund-panel' },
    h('h2', { id: 'refund-title' }, 'Refund a booking'),
    h('p', { class: 'hint' }, 'Any booking of your events, in full, at any time. Its seats go back on sale at once.'),
    form,
    outcome,
  );
  return { element };
}
