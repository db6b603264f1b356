// Checkout: the hold's countdown to its expires_at, a test payment choice, and the
// booking. When the countdown ends the seats are released (the service ends the hold at
// that instant) and the page says so.
//
// A payment may wait (202 payment_pending): on the buyer's bank (3-D Secure: the page sends
// the buyer to the bank's page, next_action, which sends them back here), or on the
// provider. The hold is kept meanwhile, until the 202's expires_at; the page asks the
// service for the reservation every second, for a bounded while, until the provider's
// webhook has booked it or released it.
import { api, ApiError, describeError, type Booking, type PendingPayment, type Reservation } from '../api.ts';
import { h, replace } from '../dom.ts';
import { countdown, money } from '../format.ts';
import type { PageContext } from '../main.ts';
import { admissionFor, currentSession } from '../session.ts';
import { seatLabel } from '../seat-labels.ts';
import { forgetPendingPayment, pendingPaymentFor, rememberPendingPayment } from '../pending-payments.ts';
import { bookingCard } from './bookings.ts';
import { createReleaseControl } from './release-hold.ts';

const paymentMethods = [
  { id: 'pm_card_visa', label: 'Test card that is accepted (Visa …4242)' },
  // Another card, as the test provider sees it: what a buyer at an event's limit per card pays with.
  { id: 'pm_card_mastercard', label: 'Another test card, paying too (Mastercard …4444)' },
  { id: 'pm_card_chargeDeclined', label: 'Test card that is declined' },
  { id: 'pm_card_threeDSecure2Required', label: '3-D Secure card (your bank asks you to approve the payment)' },
];

/** How often a pending payment is looked at, and for how long before the buyer is asked to look again. */
const paymentPollIntervalMs = 1_000;
const paymentPollsMax = 120;

/** The payment states that have no outcome yet. */
const waitingPaymentStatuses = new Set<Reservation['payment_status']>(['started', 'requires_action', 'processing']);

const isPendingPayment = (answer: Booking | PendingPayment): answer is PendingPayment =>
  answer.status === 'payment_pending';

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
  const timerLine = h('p', { class: 'timer-line' }, 'Your seats are held for ', timer, '.');
  const timerNote = h('p', { class: 'hint', 'aria-live': 'polite' });
  const message = h('p', { class: 'form-error', role: 'alert' });
  const result = h('div', { 'aria-live': 'polite' });
  const pendingLine = h('p', { class: 'payment-pending-detail' });
  const pendingPanel = h(
    'div',
    { class: 'panel payment-pending', role: 'status', 'data-testid': 'payment-pending', hidden: true },
    h(
      'p',
      { class: 'payment-pending-title' },
      h('span', { class: 'spinner', 'aria-hidden': 'true' }),
      'Payment processing…',
    ),
    pendingLine,
  );
  const payButton = h(
    'button',
    { type: 'submit', class: 'primary', 'data-testid': 'pay' },
    `Pay ${money(reservation.total_cents, reservation.currency)}`,
  );
  const seatCount = reservation.seats.length;
  const release = createReleaseControl({
    seatCount,
    release: async () => {
      try {
        await api(`/v1/reservations/${encodeURIComponent(reservationId)}`, { method: 'DELETE' });
        context.notify('Your seats were released.', 'info');
        context.navigate(eventLink);
      } catch (error) {
        message.textContent = describeError(error);
      }
    },
  });
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
    h('div', { class: 'actions' }, payButton, release.button),
    message,
  );
  let tick: number | undefined;
  let ended = false;
  /** A payment is waiting for its outcome: the form is off and the page polls. */
  let waiting = false;
  let pollTimer: number | undefined;
  let polls = 0;
  let declinedLooksLeft = 3;
  // One key per payment attempt: a retry of the same attempt (a lost answer) reuses it, so
  // the card is charged at most once; a new attempt after a decline gets a new one.
  let attempt: { key: string; method: string } | null = null;

  const stopWatching = () => {
    waiting = false;
    window.clearTimeout(pollTimer);
    pendingPanel.hidden = true;
  };
  const setFormEnabled = (enabled: boolean) =>
    form.querySelectorAll('button, input').forEach((element) => ((element as HTMLInputElement).disabled = !enabled));

  const showBooking = (booking: Booking) => {
    ended = true;
    stopWatching();
    forgetPendingPayment(reservationId);
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
  const endWith = (text: string, testId = 'hold-ended') => {
    ended = true;
    stopWatching();
    forgetPendingPayment(reservationId);
    window.clearInterval(tick);
    // Only the ending is said: no "held for 0:00", no "less than a minute left".
    timerLine.hidden = true;
    timerNote.hidden = true;
    release.dialog.close();
    setFormEnabled(false);
    replace(
      result,
      h(
        'div',
        { class: 'panel expired', role: 'alert', 'data-testid': testId },
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
    // While a payment is pending its outcome decides (the service keeps the hold for it).
    if (msLeft <= 0 && waiting) timerNote.textContent = 'Time is up: waiting for the outcome of your payment.';
    else if (msLeft <= 0) endWith('Time is up: your hold expired and the seats were released for other buyers.');
    else if (msLeft < 60_000) timerNote.textContent = 'Less than a minute left to pay.';
  };

  /** The bank's page: inside the app (the test provider's) through the router, elsewhere by leaving. */
  const goToBank = (url: string) => {
    const target = new URL(url, location.href);
    if (target.origin === location.origin) context.navigate(target.pathname + target.search + target.hash);
    else location.assign(target.href);
  };

  /** What the latest reservation says about a payment that was waiting; true when it is still waiting. */
  const settle = async (latest: Reservation): Promise<boolean> => {
    if (latest.status === 'confirmed' && latest.booking_id) {
      const booking = await api<Booking>(`/v1/bookings/${encodeURIComponent(latest.booking_id)}`);
      if (!ended) showBooking(booking);
      return false;
    }
    if (latest.status === 'active') reservation.expires_at = latest.expires_at;
    if (latest.status === 'active' && waitingPaymentStatuses.has(latest.payment_status)) {
      const bank = pendingPaymentFor(reservationId);
      if (latest.payment_status === 'requires_action' && bank) {
        replace(
          pendingLine,
          'Waiting for your bank to approve the payment. ',
          h('a', { href: bank.bankUrl, 'data-link': true, 'data-testid': 'continue-at-bank' }, 'Continue at your bank'),
        );
      } else {
        replace(pendingLine, 'Your seats stay held meanwhile; this takes a few seconds.');
      }
      return true;
    }
    // Paid, the booking on its way (a read may land between the two): the next look shows it.
    if (latest.status === 'active' && latest.payment_status === 'succeeded') {
      replace(pendingLine, 'Your payment went through: booking your seats.');
      return true;
    }
    // Refused at the bank step: the service releases the hold with it, so a hold still
    // there is looked at a few more times before the page says it is kept.
    if (latest.status === 'active' && pendingPaymentFor(reservationId) && declinedLooksLeft > 0) {
      declinedLooksLeft -= 1;
      return true;
    }
    // The payment is read before the reservation (GET /v1/reservations/{id}), so a webhook
    // between the two reads shows a hold already ended with its payment still waiting: the
    // payment's end is on its way, and the next look shows it.
    if (latest.status !== 'active' && waitingPaymentStatuses.has(latest.payment_status) && declinedLooksLeft > 0) {
      declinedLooksLeft -= 1;
      return true;
    }
    if (latest.status === 'active') {
      // Declined, and the hold is still there: another card may be tried.
      forgetPendingPayment(reservationId);
      stopWatching();
      attempt = null;
      setFormEnabled(true);
      message.textContent = 'Your bank did not approve the payment. Your seats are still held: try another card.';
      return false;
    }
    if (latest.payment_status === undefined) {
      endWith(
        latest.status === 'expired' ? 'This hold expired and its seats were released.' : 'This hold was released.',
      );
    } else if (latest.payment_status === 'failed' || latest.payment_status === 'voided') {
      endWith(
        'Payment failed: your bank did not approve it, so the seats were released. You were not charged.',
        'payment-failed',
      );
    } else if (latest.payment_status === 'succeeded') {
      endWith('Your hold ended before the payment completed: the seats were released and your payment is refunded.');
    } else {
      endWith(
        latest.status === 'expired'
          ? 'The payment did not complete in time: your hold expired and the seats were released.'
          : 'This hold was released.',
      );
    }
    return false;
  };

  const check = async () => {
    if (ended || !waiting) return;
    polls += 1;
    try {
      const latest = await api<Reservation>(`/v1/reservations/${encodeURIComponent(reservationId)}`);
      if (ended || !waiting) return; // the visitor has left the page meanwhile
      if (!(await settle(latest))) return;
    } catch (error) {
      // A failed look is tried again at the next tick; the bound still applies.
      replace(pendingLine, `${describeError(error)} Trying again…`);
    }
    if (ended || !waiting) return;
    if (polls < paymentPollsMax) {
      pollTimer = window.setTimeout(() => void check(), paymentPollIntervalMs);
      return;
    }
    const again = h('button', { type: 'button', 'data-testid': 'check-payment-again' }, 'Check again');
    again.addEventListener('click', () => watchPayment());
    replace(pendingLine, 'Still no answer about your payment. ', again);
  };

  const watchPayment = () => {
    waiting = true;
    polls = 0;
    setFormEnabled(false);
    message.textContent = '';
    pendingPanel.hidden = false;
    window.clearTimeout(pollTimer);
    pollTimer = window.setTimeout(() => void check(), paymentPollIntervalMs);
  };

  form.addEventListener('submit', async (submitEvent) => {
    submitEvent.preventDefault();
    const method = String(new FormData(form).get('payment_method') ?? 'pm_card_visa');
    if (!attempt || attempt.method !== method) attempt = { key: crypto.randomUUID(), method };
    message.textContent = '';
    payButton.disabled = true;
    const admission = admissionFor(reservation.event_id, session.userId);
    try {
      const answer = await api<Booking | PendingPayment>(
        `/v1/reservations/${encodeURIComponent(reservationId)}/confirm`,
        {
          method: 'POST',
          body: { payment_method: method },
          headers: { 'idempotency-key': attempt.key, ...(admission ? { 'x-admission-token': admission } : {}) },
        },
      );
      if (!isPendingPayment(answer)) {
        showBooking(answer);
        return;
      }
      // The hold is kept while the payment is pending: the countdown follows the new end.
      reservation.expires_at = answer.expires_at;
      refresh();
      const bankUrl = answer.payment.next_action?.url;
      if (answer.payment.status === 'requires_action' && bankUrl) {
        rememberPendingPayment({
          paymentId: answer.payment.payment_id,
          reservationId,
          bankUrl,
          amountCents: reservation.total_cents,
          currency: reservation.currency,
          eventName: event.name,
        });
        goToBank(bankUrl);
        return;
      }
      watchPayment();
    } catch (error) {
      payButton.disabled = false;
      if (!(error instanceof ApiError)) {
        message.textContent = describeError(error);
        return;
      }
      if (error.status === 402) {
        attempt = null;
        message.textContent = `${error.message} Your seats are still held: try another card.`;
      } else if (error.code === 'CARD_LIMIT_REACHED') {
        // Nothing was charged and the hold stands: another card (a new attempt) may pay.
        attempt = null;
        message.textContent =
          `This card has reached this event's limit of ${error.problem.max_seats_per_card ?? ''} seats per card. ` +
          'You were not charged and your seats are still held: pay with another card.';
      } else if (error.status === 410) {
        endWith('Your hold expired before the payment went through; you were not charged.');
      } else if (error.code === 'ADMISSION_REQUIRED') {
        message.textContent = 'Your admission from the waiting room has ended, so this purchase cannot be completed.';
      } else if (error.status === 0) {
        message.textContent = `${error.message.replace(/\.?$/, '.')} Press pay again: you will not be charged twice.`;
      } else {
        message.textContent = describeError(error);
      }
    }
  });

  replace(
    context.root,
    h(
      'section',
      { class: 'panel checkout', 'aria-labelledby': 'checkout-title' },
      h('h1', { id: 'checkout-title' }, 'Checkout'),
      h('p', {}, h('a', { href: eventLink, 'data-link': true }, event.name)),
      timerLine,
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
      pendingPanel,
      result,
      release.dialog,
    ),
  );

  // Booked or ended already (back from the bank after the webhook came), or back from the
  // bank or reloaded while a payment is pending: then wait for its outcome.
  const outcomeDue =
    waitingPaymentStatuses.has(reservation.payment_status) ||
    reservation.payment_status === 'succeeded' ||
    (pendingPaymentFor(reservationId) !== null && reservation.payment_status !== undefined);
  if (reservation.status !== 'active' || outcomeDue) {
    if (!(await settle(reservation))) return;
    watchPayment();
  }
  refresh();
  tick = window.setInterval(refresh, 250);
  return () => {
    // Left: an answer still on its way changes nothing here.
    ended = true;
    waiting = false;
    window.clearInterval(tick);
    window.clearTimeout(pollTimer);
  };
}
