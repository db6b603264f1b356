// The event page: details and price tiers, the live seat map (canvas, or an accessible
// list of available seats), the selection and the hold that starts the checkout.
import { api, ApiError, describeError, type EventDetail, type Reservation } from '../api.ts';
import { createSeatMapPanel } from './seat-map-panel.ts';
import type { AvailabilityDocument } from '../seat-map/model.ts';
import { h, replace } from '../dom.ts';
import { dateTime, money } from '../format.ts';
import type { PageContext } from '../main.ts';
import { admissionFor, currentSession } from '../session.ts';
import { seatLabel } from '../seat-labels.ts';
import { seatColors, tierColors } from '../seat-map/palette.ts';
import { hasAccessibleSeating } from '../seat-map/seat-kinds.ts';
import { legendSymbol } from '../seat-map/seat-symbols.ts';
import { createBestAvailable } from './best-available.ts';
import { openSeatMap, type SeatMapHandle } from './event-seat-map.ts';
import { checkoutPath, loadActiveHolds, seatLimitNotice } from '../my-holds.ts';

export async function renderEvent(context: PageContext) {
  const eventId = context.params.eventId!;
  // Both at once: the seat map needs the sections (detail) and the statuses (availability).
  const availability = api<AvailabilityDocument>(`/v1/events/${encodeURIComponent(eventId)}/availability`);
  availability.catch(() => {}); // an unknown event fails with the detail below
  const event = await api<EventDetail>(`/v1/events/${encodeURIComponent(eventId)}`);
  context.setTitle(event.name);
  const session = currentSession();
  const saleOpen = event.on_sale;
  const admission = session && event.waiting_room.enabled ? admissionFor(eventId, session.userId) : null;

  // With a waiting room, a signed-in buyer without an admission goes to the line first.
  if (saleOpen && event.waiting_room.enabled && session && !admission) {
    context.navigate(`/events/${eventId}/queue`, { replace: true });
    return;
  }
  const canBuy = saleOpen && event.status === 'published' && (!event.waiting_room.enabled || admission !== null);

  const colors = tierColors(event.price_tiers);
  const counts = h('p', { class: 'hint', 'data-testid': 'seat-counts', 'aria-live': 'off' });
  const showCounts = (available: number) =>
    (counts.textContent = `${available.toLocaleString()} of ${event.seat_count.toLocaleString()} seats available`);
  showCounts(event.counts.available);
  const selectionList = h('ul', { class: 'seat-chips', 'data-testid': 'selection' });
  const selectionTotal = h('p', { class: 'total' });
  const holdMessage = h('p', { class: 'form-error', role: 'alert' });
  const heldNote = h('p', { class: 'hint', 'data-testid': 'held-note', hidden: true });
  const holdButton = h(
    'button',
    { type: 'button', class: 'primary', disabled: true, 'data-testid': 'hold' },
    'Hold seats',
  );
  const mapPanel = createSeatMapPanel();
  const { live, mapHost, listHost } = mapPanel;
  let map: SeatMapHandle | null = null;
  // Seats of the hold being sent: the stream may report them held (by this buyer) before the
  // answer arrives, which is not "someone else took them".
  const holding = new Set<string>();

  const showSelection = (seatIds: string[]) => {
    if (!map) return;
    const seats = seatIds.map((seatId) => map!.describe(seatId));
    replace(
      selectionList,
      seats.length === 0
        ? h('li', { class: 'empty' }, canBuy ? 'Pick seats on the map.' : 'Seats can be chosen when you can buy.')
        : seats.map((seat) => h('li', {}, `${seatLabel(seat)} · ${money(seat.price_cents, event.currency)}`)),
    );
    const totalCents = seats.reduce((sum, seat) => sum + seat.price_cents, 0);
    selectionTotal.textContent =
      seats.length > 0
        ? `${seats.length} seat${seats.length === 1 ? '' : 's'} · ${money(totalCents, event.currency)}`
        : '';
    holdButton.disabled = !canBuy || seats.length === 0;
  };

  holdButton.addEventListener('click', async () => {
    if (!map) return;
    if (!context.requireSignIn()) return;
    const seatIds = map.selected();
    holdButton.disabled = true;
    holdMessage.textContent = '';
    const me = currentSession()!;
    const token = event.waiting_room.enabled ? admissionFor(eventId, me.userId) : null;
    for (const seatId of seatIds) holding.add(seatId);
    try {
      const reservation = await api<Reservation>(`/v1/events/${encodeURIComponent(eventId)}/reservations`, {
        method: 'POST',
        body: { seat_ids: seatIds },
        headers: token ? { 'x-admission-token': token } : {},
      });
      map.clearSelection();
      context.navigate(`/reservations/${reservation.reservation_id}`);
    } catch (error) {
      holdButton.disabled = false;
      if (error instanceof ApiError && error.code === 'SEAT_UNAVAILABLE') {
        const taken = error.problem.conflicting_seat_ids ?? [];
        map.markTaken(taken);
        holdMessage.textContent = `Someone else just took ${taken.map((seatId) => seatLabel(map!.describe(seatId))).join('; ')}. Those seats were removed from your selection.`;
      } else if (error instanceof ApiError && error.code === 'ADMISSION_REQUIRED') {
        context.navigate(`/events/${eventId}/queue`);
      } else {
        const limit = await seatLimitNotice(error, eventId);
        if (limit) replace(holdMessage, limit);
        else holdMessage.textContent = describeError(error);
      }
    } finally {
      holding.clear();
    }
  });

  const bestAvailable = createBestAvailable({
    context,
    event,
    canBuy,
    map: () => map,
    beforeAsking: () => map?.clearSelection(),
  });
  const firstTierColor = colors[event.price_tiers[0]?.id ?? ''];

  const saleLine =
    event.status === 'cancelled'
      ? h('p', { class: 'form-error' }, 'This event was cancelled.')
      : !saleOpen
        ? h(
            'p',
            {},
            `Tickets go on sale ${dateTime(event.sale_opens_at)}.`,
            event.waiting_room.enabled
              ? [' ', h('a', { href: `/events/${eventId}/queue`, 'data-link': true }, 'Join the waiting room now')]
              : null,
          )
        : !session
          ? h(
              'p',
              {},
              h('a', { href: `/login?next=${encodeURIComponent(`/events/${eventId}`)}`, 'data-link': true }, 'Sign in'),
              ' to choose seats.',
            )
          : h('p', {}, `On sale now · up to ${event.max_seats_per_user} seats per buyer.`);

  replace(
    context.root,
    h(
      'header',
      { class: 'event-header' },
      h('h1', {}, event.name),
      h(
        'p',
        { class: 'event-meta' },
        `${dateTime(event.starts_at)} · ${event.venue.name}, ${event.venue.city} · `,
        h('span', { class: 'tag' }, event.category),
      ),
      event.description ? h('p', {}, event.description) : null,
      saleLine,
      // Its organizer (the only one shown organizer_id) watches the sale from here too.
      event.organizer_id !== undefined && event.status !== 'draft'
        ? h(
            'p',
            {},
            h(
              'a',
              {
                href: `/organize/events/${encodeURIComponent(eventId)}/stats`,
                'data-link': true,
                'data-testid': 'event-sale-stats-link',
              },
              'Watch the sale live',
            ),
          )
        : null,
    ),
    h(
      'div',
      { class: 'event-layout with-best-available' },
      bestAvailable.element,
      mapPanel.element,
      h(
        'aside',
        { class: 'panel selection-panel', 'aria-label': 'Your selection' },
        h('h2', {}, 'Prices'),
        h(
          'ul',
          { class: 'tiers', 'data-testid': 'price-tiers', 'aria-label': 'Price tiers and their colors on the map' },
          ...event.price_tiers.map((tier) =>
            h(
              'li',
              {},
              h('span', {}, swatch(colors[tier.id]!), ` ${tier.name}`),
              h('span', {}, money(tier.price_cents, tier.currency)),
            ),
          ),
        ),
        h(
          'ul',
          { class: 'legend', 'aria-label': 'Other colors and marks on the map' },
          h('li', {}, swatch(seatColors.selected), 'Your selection'),
          h('li', {}, legendSymbol('own'), 'Held for you'),
          h('li', {}, swatch(seatColors.held), 'Held'),
          h('li', {}, swatch(seatColors.booked), 'Sold'),
          h('li', {}, legendSymbol('blocked'), 'Not for sale'),
          hasAccessibleSeating(event.sections)
            ? [
                h('li', {}, legendSymbol('accessible', firstTierColor), 'Wheelchair space'),
                h('li', {}, legendSymbol('companion', firstTierColor), 'Companion seat'),
              ]
            : null,
        ),
        counts,
        heldNote,
        h('h2', {}, 'Your seats'),
        selectionList,
        selectionTotal,
        holdButton,
        holdMessage,
      ),
    ),
  );

  map = await openSeatMap({
    event,
    availability,
    mapHost,
    listHost,
    selectable: canBuy,
    onSelectionChange: showSelection,
    onSelectionLost: (lost) => {
      const seatIds = lost.filter((seatId) => !holding.has(seatId));
      if (seatIds.length === 0) return;
      const names = seatIds.map((seatId) => seatLabel(map!.describe(seatId))).join('; ');
      context.notify(`${names}: just taken by someone else, removed from your selection.`, 'error');
    },
    onLimit: () => context.notify(`You can choose up to ${event.max_seats_per_user} seats.`, 'info'),
    onAvailableCount: showCounts,
    onLive: (connected) => {
      replace(live, h('span', { class: `live-dot${connected ? ' on' : ''}` }), connected ? 'live' : 'reconnecting…');
    },
  });
  showSelection([]);
  // The buyer's holds made earlier (before leaving checkout): their seats drawn as theirs,
  // and the way back to pay for them.
  let left = false;
  if (session) {
    void loadActiveHolds()
      .then((holds) => {
        const mine = holds.filter((hold) => hold.event_id === eventId);
        if (left || mine.length === 0) return;
        map?.showHeld(mine.flatMap((hold) => hold.seats.map((seat) => seat.seat_id)));
        const seats = mine.reduce((sum, hold) => sum + hold.seats.length, 0);
        replace(
          heldNote,
          `You hold ${seats} seat${seats === 1 ? '' : 's'} here (drawn as yours on the map). `,
          h('a', { href: checkoutPath(mine[0]!.reservation_id), 'data-link': true }, 'Return to checkout'),
        );
        heldNote.hidden = false;
      })
      .catch(() => {}); // the banner says it too; the page works without it
  }
  return () => {
    left = true;
    map?.close();
  };
}

function swatch(color: string) {
  return h('span', { class: 'swatch', style: `background:${color}`, 'aria-hidden': 'true' });
}
