// My bookings' first list: the buyer's holds still running, each with its countdown and the
// way back to its checkout (issue 22: a buyer who left checkout read "No bookings yet" while
// their seats were held). A hold leaves the list at its expires_at.
import { h, replace } from '../dom.ts';
import { countdown, money } from '../format.ts';
import { checkoutPath, loadActiveHolds, type MyReservation } from '../my-holds.ts';
import { seatLabel } from '../seat-labels.ts';

const tickMs = 1_000;

/** The section (hidden while there is no hold) and its cleanup (stops the countdowns). */
export function createHeldSeatsList(): { element: HTMLElement; stop(): void } {
  const list = h('ul', { class: 'booking-list', 'data-testid': 'held-list' });
  const element = h(
    'section',
    { 'aria-labelledby': 'held-title', hidden: true },
    h('h2', { id: 'held-title' }, 'Seats held for you'),
    h('p', { class: 'hint' }, 'Not booked yet: pay before the time runs out, or the seats go back on sale.'),
    list,
  );
  let holds: { hold: MyReservation; timer: HTMLElement; card: HTMLElement }[] = [];
  let tick: number | undefined;
  let stopped = false;
  const update = () => {
    const now = Date.now();
    holds = holds.filter(({ hold, timer, card }) => {
      const msLeft = Date.parse(hold.expires_at) - now;
      if (msLeft <= 0) card.remove();
      else timer.textContent = countdown(msLeft);
      return msLeft > 0;
    });
    if (holds.length > 0) return;
    element.hidden = true;
    window.clearInterval(tick);
  };
  void loadActiveHolds()
    .then((found) => {
      if (stopped) return;
      holds = found.map((hold) => {
        const timer = h('strong', { class: 'countdown', role: 'timer' });
        const card = h(
          'li',
          { class: 'booking-card', 'data-reservation-id': hold.reservation_id },
          h(
            'div',
            { class: 'booking-head' },
            h('a', { href: `/events/${hold.event_id}`, 'data-link': true, class: 'event-name' }, hold.event_name),
            h('span', { class: 'booking-status booking-status-held' }, 'Held'),
          ),
          h('ul', { class: 'seat-chips' }, ...hold.seats.map((seat) => h('li', {}, seatLabel(seat)))),
          h('p', { class: 'total' }, `Total ${money(hold.total_cents, hold.currency)} · held for `, timer, ' more'),
          h('a', { href: checkoutPath(hold.reservation_id), 'data-link': true }, 'Return to checkout'),
        );
        return { hold, timer, card };
      });
      replace(
        list,
        holds.map(({ card }) => card),
      );
      element.hidden = holds.length === 0;
      update();
      if (holds.length > 0) tick = window.setInterval(update, tickMs);
    })
    .catch(() => {}); // the bookings below still show; the banner retries
  return {
    element,
    stop: () => {
      stopped = true;
      window.clearInterval(tick);
    },
  };
}
