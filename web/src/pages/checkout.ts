// Checkout: the hold's countdown to its expires_at, a test payment choice, and the
// booking. When the countdown ends the seats are released (the service ends the hold at
// that instant) and the page says so.
import { api, ApiError, describeError, type Booking, type Reservation } from '../api.ts';
import { h, replace } from '../dom.ts';
import { countdown, money } from '../format.ts';
import type { PageContext } from '../main.ts';
import { admissionFor, currentSession } from '../session.ts';
import { seatLabel } from '../seat-labels.ts';
import { bookingCard } from './bookings.ts';

const paymentMethods = [
  { id: 'pm_card_visa', label: 'Test card that is accepted (Visa …4242)' },
  { id: 'pm_card_chargeDeclined', label: 'Test card that is declined' },
];

export async function renderCheckout(context: PageContext) {
  if (!context.requireSignIn()) return;
  const session = currentSession()!;
  const reservationId = context.params.reservationId!;
  context.setTitle('Checkout');
  let reservation: Reservation;
  try {
    reservation = await api<Reservation>(`/v1/reservations/${encodeURIComponent(reservationId)}`);
  } catch (error) {
    replace(
      context.root,
      h('div', { class: 'panel', role: 'alert' }, h('h1', {}, 'Checkout'), h('p', {}, describeError(error))),
    );
    return;
  }
  const event = await api<{ name: string }>(`/v1/events/${reservation.event_id}`).catch(() => ({ name: 'Your event' }));
  const eventLink = `/events/${reservation.event_id}`;

  const timer = h('strong', { class: 'countdown', 'data-testid': 'countdown', role: 'timer', 'aria-live': 'off' });
  const timerNote = h('p', { class: 'hint', 'aria-live': 'polite' });
  const message = h('p', { class: 'form-error', role: 'alert' });
  const result = h('div', { 'aria-live': 'polite' });
  const payButton = h(
    'button',
    { type: 'submit', class: 'primary', 'data-testid': 'pay' },
    `Pay ${money(reservation.total_cents, reservation.currency)}`,
  );
  const releaseButton = h('button', { type: 'button' }, 'Release these seats');
  const form = h(
    'form',
    { class: 'form', 'aria-labelledby': 'payment-title' },
    h('h2', { id: 'payment-title' }, 'Payment'),
    h(
      'fieldset',
      {},
      h('legend', {}, 'Test payment method'),
      ...paymentMethods.map((method, index) =>
        h(
          'label',
          { class: 'choice' },
          h('input', { type: 'radio', name: 'payment_method', value: method.id, checked: index === 0 }),
          ` ${method.label}`,
        ),
      ),
    ),
    h('div', { class: 'actions' }, payButton, releaseButton),
    message,
  );
  let tick: number | undefined;
  let ended = false;
  // One key per payment attempt: a retry of the same attempt (a lost answer) reuses it, so
  // the card is charged at most once; a new attempt after a decline gets a new one.
  let attempt: { key: string; method: string } | null = null;

  const showBooking = (booking: Booking) => {
    ended = true;
    window.clearInterval(tick);
    replace(
      context.root,
      h(
        'section',
        { class: 'panel', 'aria-labelledby': 'done-title', 'data-testid': 'booking-confirmation' },
        h('h1', { id: 'done-title' }, 'You are going!'),
        h('p', {}, 'Your booking is confirmed.'),
        h('ul', { class: 'booking-list' }, bookingCard(booking, event.name)),
        h(
          'p',
          {},
          h('a', { href: '/bookings', 'data-link': true }, 'My bookings'),
          ' · ',
          h('a', { href: eventLink, 'data-link': true }, 'Back to the event'),
        ),
      ),
    );
  };
  const endWith = (text: string) => {
    ended = true;
    window.clearInterval(tick);
    timer.textContent = '0:00';
    form.querySelectorAll('button, input').forEach((element) => ((element as HTMLInputElement).disabled = true));
    replace(
      result,
      h(
        'div',
        { class: 'panel expired', role: 'alert', 'data-testid': 'hold-ended' },
        h('p', {}, text),
        h('p', {}, h('a', { href: eventLink, 'data-link': true }, 'Choose seats again')),
      ),
    );
  };
  const refresh = () => {
    if (ended) return;
    const msLeft = Date.parse(reservation.expires_at) - Date.now();
    timer.textContent = countdown(msLeft);
    timer.classList.toggle('urgent', msLeft < 60_000);
    if (msLeft <= 0) endWith('Time is up: your hold expired and the seats were released for other buyers.');
    else if (msLeft < 60_000) timerNote.textContent = 'Less than a minute left to pay.';
  };

  form.addEventListener('submit', async (submitEvent) => {
    submitEvent.preventDefault();
    const method = String(new FormData(form).get('payment_method') ?? 'pm_card_visa');
    if (!attempt || attempt.method !== method) attempt = { key: crypto.randomUUID(), method };
    message.textContent = '';
    payButton.disabled = true;
    const admission = admissionFor(reservation.event_id, session.userId);
    try {
      const booking = await api<Booking>(`/v1/reservations/${encodeURIComponent(reservationId)}/confirm`, {
        method: 'POST',
        body: { payment_method: method },
        headers: { 'idempotency-key': attempt.key, ...(admission ? { 'x-admission-token': admission } : {}) },
      });
      showBooking(booking);
    } catch (error) {
      payButton.disabled = false;
      if (!(error instanceof ApiError)) {
        message.textContent = describeError(error);
        return;
      }
      if (error.status === 402) {
        attempt = null;
        message.textContent = `${error.message} Your seats are still held: try another card.`;
      } else if (error.status === 410) {
        endWith('Your hold expired before the payment went through; you were not charged.');
      } else if (error.code === 'ADMISSION_REQUIRED') {
        message.textContent = 'Your admission from the waiting room has ended, so this purchase cannot be completed.';
      } else if (error.status === 0) {
        message.textContent = `${error.message} Press pay again: you will not be charged twice.`;
      } else {
        message.textContent = describeError(error);
      }
    }
  });
  releaseButton.addEventListener('click', async () => {
    try {
      await api(`/v1/reservations/${encodeURIComponent(reservationId)}`, { method: 'DELETE' });
      context.notify('Your seats were released.', 'info');
      context.navigate(eventLink);
    } catch (error) {
      message.textContent = describeError(error);
    }
  });

  replace(
    context.root,
    h(
      'section',
      { class: 'panel checkout', 'aria-labelledby': 'checkout-title' },
      h('h1', { id: 'checkout-title' }, 'Checkout'),
      h('p', {}, h('a', { href: eventLink, 'data-link': true }, event.name)),
      h('p', { class: 'timer-line' }, 'Your seats are held for ', timer, '.'),
      timerNote,
      h(
        'ul',
        { class: 'seat-chips', 'data-testid': 'held-seats' },
        ...reservation.seats.map((seat) =>
          h('li', {}, `${seatLabel(seat)} · ${money(seat.price_cents, reservation.currency)}`),
        ),
      ),
      h('p', { class: 'total' }, `Total ${money(reservation.total_cents, reservation.currency)}`),
      form,
      result,
    ),
  );

  if (reservation.status === 'confirmed' && reservation.booking_id) {
    showBooking(await api<Booking>(`/v1/bookings/${reservation.booking_id}`));
    return;
  }
  if (reservation.status !== 'active') {
    endWith(
      reservation.status === 'expired' ? 'This hold expired and its seats were released.' : 'This hold was released.',
    );
    return;
  }
  refresh();
  tick = window.setInterval(refresh, 250);
  return () => window.clearInterval(tick);
}
