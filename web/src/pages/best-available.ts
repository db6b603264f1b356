// The event page's "Best available" panel: the buyer says how many seats, at which price,
// whether they need accessible seating and whether the seats must be together; the service
// chooses the best free seats and holds them in one step (POST …/reservations
// {best_available}). The seats are then drawn on the map as the buyer's, summed up here,
// and the buyer goes on to the checkout of that hold, or lets the seats go and asks again.
import './best-available.css';
import { api, ApiError, describeError, type EventDetail, type Reservation } from '../api.ts';
import { h, replace } from '../dom.ts';
import { money, timeOfDay } from '../format.ts';
import type { PageContext } from '../main.ts';
import { hasAccessibleSeating } from '../seat-map/seat-kinds.ts';
import { admissionFor, currentSession } from '../session.ts';
import { seatLimitNotice } from '../my-holds.ts';
import { seatRuns } from '../seat-labels.ts';
import type { SeatMapHandle } from './event-seat-map.ts';

export interface BestAvailableOptions {
  context: PageContext;
  event: EventDetail;
  canBuy: boolean;
  /** The map, once it is loaded. */
  map(): SeatMapHandle | null;
  /**
   * Before asking: the seats picked by hand are let go, as the service may choose them (and
   * the live map would then report them taken from the selection).
   */
  beforeAsking(): void;
}

interface Request {
  count: number;
  priceTier: string | null;
  accessible: boolean;
  together: boolean;
}

export function createBestAvailable(options: BestAvailableOptions) {
  const { context, event, canBuy } = options;
  const eventPath = `/v1/events/${encodeURIComponent(event.event_id)}`;
  const perBuyer = Math.max(1, event.max_seats_per_user);

  const count = h('select', { id: 'best-count', 'data-testid': 'best-count' });
  for (let seats = 1; seats <= perBuyer; seats += 1) count.append(new Option(String(seats), String(seats)));
  count.value = String(Math.min(2, perBuyer));
  const tier = h('select', { id: 'best-tier', 'data-testid': 'best-tier' });
  tier.append(new Option('Any price', ''));
  for (const priceTier of event.price_tiers) {
    tier.append(new Option(`${priceTier.name} · ${money(priceTier.price_cents, priceTier.currency)}`, priceTier.id));
  }
  const accessible = hasAccessibleSeating(event.sections)
    ? h('input', { type: 'checkbox', id: 'best-accessible', 'data-testid': 'best-accessible' })
    : null;
  const together = h('input', { type: 'checkbox', id: 'best-together', 'data-testid': 'best-together', checked: true });
  const find = h(
    'button',
    { type: 'submit', class: 'primary', 'data-testid': 'find-seats', disabled: !canBuy },
    'Find seats',
  );
  const message = h('div', { class: 'best-available-message', role: 'alert', 'data-testid': 'best-message' });
  const result = h('div', { 'aria-live': 'polite', 'data-testid': 'best-result' });

  const form = h(
    'form',
    { class: 'best-available-form', 'aria-label': 'Find the best available seats', novalidate: true },
    h(
      'div',
      { class: 'best-available-fields' },
      h('div', { class: 'field' }, h('label', { for: count.id }, 'Seats'), count),
      h('div', { class: 'field' }, h('label', { for: tier.id }, 'Price'), tier),
    ),
    accessible
      ? h(
          'label',
          { class: 'best-available-check', for: accessible.id },
          accessible,
          h('span', {}, 'Accessible seating', h('span', { class: 'hint' }, ' (wheelchair spaces and companion seats)')),
        )
      : null,
    h('label', { class: 'best-available-check', for: together.id }, together, 'Seats together'),
    find,
  );

  const read = (): Request => ({
    count: Number(count.value),
    priceTier: tier.value || null,
    accessible: accessible?.checked ?? false,
    together: together.checked,
  });

  /** Why nothing was found, and what might be found instead. */
  const notEnough = (request: Request) => {
    const tierName = event.price_tiers.find((candidate) => candidate.id === request.priceTier)?.name;
    const map = options.map();
    const free = map ? map.countAvailable(request.priceTier, request.accessible) : null;
    const kind = request.accessible ? 'wheelchair spaces or companion seats' : 'seats';
    const scope = tierName ? ` at ${tierName}` : '';
    const headline =
      free === 0
        ? `No ${kind}${scope} are free right now.`
        : free !== null && free < request.count
          ? `Only ${free} ${free === 1 ? kind.replace(/s\b/g, '') : kind}${scope} ${free === 1 ? 'is' : 'are'} free right now.`
          : request.together
            ? `There are no ${request.count} ${kind} side by side${scope} right now.`
            : `Not enough ${kind}${scope} are free right now.`;
    const tips: string[] = [];
    if (free !== null && free > 0 && free < request.count) tips.push(`Ask for ${free} seat${free === 1 ? '' : 's'}.`);
    else if (request.count > 1) {
      if (request.together) tips.push('Untick “Seats together” to get the best seats apart.');
      tips.push('Ask for fewer seats.');
    }
    if (request.priceTier) tips.push('Choose another price, or “Any price”.');
    if (tips.length === 0) tips.push('Seats come back when holds run out: try again in a few minutes.');
    replace(
      message,
      h('p', {}, headline),
      h('ul', { class: 'best-available-tips' }, ...tips.map((tip) => h('li', {}, tip))),
    );
  };

  /** While the buyer lets the seats go: the live map's word that they are free is expected. */
  let releasing = false;
  const release = async (reservation: Reservation, button: HTMLButtonElement) => {
    button.disabled = true;
    releasing = true;
    try {
      await api(`/v1/reservations/${encodeURIComponent(reservation.reservation_id)}`, { method: 'DELETE' });
      options.map()?.showOwn([]);
      replace(result);
      form.hidden = false;
      find.focus();
    } catch (error) {
      button.disabled = false;
      replace(message, h('p', {}, `The seats were not released: ${describeError(error)}`));
    } finally {
      releasing = false;
    }
  };

  const showHeld = (reservation: Reservation) => {
    options.map()?.showOwn(
      reservation.seats.map((seat) => seat.seat_id),
      () => {
        // The hold ran out (or was let go from another page): the seats are on sale again.
        if (releasing) return;
        replace(result);
        form.hidden = false;
        replace(message, h('p', {}, 'Your hold on those seats has ended: they are back on sale. Find seats again?'));
      },
    );
    const checkout = h(
      'button',
      { type: 'button', class: 'primary', 'data-testid': 'best-checkout' },
      'Continue to checkout',
    );
    checkout.addEventListener('click', () => context.navigate(`/reservations/${reservation.reservation_id}`));
    const again = h('button', { type: 'button', 'data-testid': 'best-release' }, 'Release and search again');
    again.addEventListener('click', () => void release(reservation, again));
    const seats = reservation.seats.length;
    form.hidden = true;
    replace(
      result,
      h(
        'div',
        { class: 'best-available-held', 'data-testid': 'best-held' },
        h(
          'p',
          { class: 'best-available-held-title' },
          `We are holding ${seats === 1 ? 'this seat' : 'these seats'} for you:`,
        ),
        h('ul', { class: 'best-available-seats' }, ...seatRuns(reservation.seats).map((line) => h('li', {}, line))),
        h(
          'p',
          { class: 'total', 'data-testid': 'best-total' },
          `${seats} seat${seats === 1 ? '' : 's'} · ${money(reservation.total_cents, reservation.currency)}`,
        ),
        h(
          'p',
          { class: 'hint' },
          `Marked on the map with a tick. Held until ${timeOfDay(reservation.expires_at, Date.now())}.`,
        ),
        h('div', { class: 'actions' }, checkout, again),
      ),
    );
    checkout.focus();
  };

  form.addEventListener('submit', async (submitEvent) => {
    submitEvent.preventDefault();
    if (!context.requireSignIn()) return;
    const request = read();
    find.disabled = true;
    find.textContent = 'Finding seats…';
    replace(message);
    options.beforeAsking();
    const me = currentSession()!;
    const token = event.waiting_room.enabled ? admissionFor(event.event_id, me.userId) : null;
    try {
      const reservation = await api<Reservation>(`${eventPath}/reservations`, {
        method: 'POST',
        body: {
          best_available: {
            count: request.count,
            ...(request.priceTier ? { price_tier: request.priceTier } : {}),
            accessible: request.accessible,
            together: request.together,
          },
        },
        headers: token ? { 'x-admission-token': token } : {},
      });
      showHeld(reservation);
    } catch (error) {
      if (error instanceof ApiError && error.code === 'NOT_ENOUGH_SEATS') notEnough(request);
      else if (error instanceof ApiError && error.code === 'ADMISSION_REQUIRED') {
        context.navigate(`/events/${event.event_id}/queue`);
      } else replace(message, h('p', {}, (await seatLimitNotice(error, event.event_id)) ?? describeError(error)));
    } finally {
      find.disabled = !canBuy;
      find.textContent = 'Find seats';
    }
  });

  const element = h(
    'section',
    { class: 'panel best-available', 'aria-labelledby': 'best-available-title', 'data-testid': 'best-available' },
    h('h2', { id: 'best-available-title' }, 'Best available'),
    h(
      'p',
      { class: 'hint' },
      canBuy
        ? 'Tell us how many seats and a price: we pick the best free seats and hold them for you.'
        : 'Seats can be chosen when you can buy.',
    ),
    form,
    message,
    result,
  );
  return { element };
}
