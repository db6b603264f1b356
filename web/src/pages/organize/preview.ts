// The builder's preview: the seat total and the plan as buyers will see it, redrawn a moment
// after the form changes.
import { h, replace } from '../../dom.ts';
import { money } from '../../format.ts';
import { SeatMapModel, type SeatListEntry } from '../../seat-map/model.ts';
import { SeatMapView } from '../../seat-map/canvas-view.ts';
import { tierColorAt } from '../../seat-map/palette.ts';
import { type CreateEventBody, seatsPerRowMax } from './event-body.ts';

const previewDelayMs = 250;
/** The seat list GET /v1/events/{id}/seats would answer for this body: every seat available. */
function previewSeats(body: CreateEventBody): SeatListEntry[] {
  const prices = new Map(body.price_tiers.map((tier) => [tier.id, tier.price_cents]));
  const seats: SeatListEntry[] = [];
  const sectionNames = new Set<string>();
  for (const section of body.seat_map.sections) {
    // A repeated name would merge two sections in the model; the server refuses it anyway.
    if (sectionNames.has(section.name)) continue;
    sectionNames.add(section.name);
    const price_cents = prices.get(section.price_tier) ?? 0;
    for (const row of section.rows) {
      const count = Number.isInteger(row.seats) ? Math.min(Math.max(row.seats, 0), seatsPerRowMax) : 0;
      for (let number = 1; number <= count; number += 1) {
        seats.push({
          seat_id: `preview-${seats.length}`,
          section: section.name,
          row: row.label,
          number,
          price_cents,
          status: 'available',
        });
      }
    }
  }
  return seats;
}

const previewSeatsMax = 200_000;

/**
 * The plan as buyers will see it: the shared seat map component over a model built from
 * the form, look-only. The model is immutable, so every change builds a new view.
 */
export function createPreview() {
  const total = h('strong', { 'data-testid': 'builder-seat-total', 'aria-live': 'polite' }, '0 seats');
  const host = h('div', { class: 'organize-preview-host', 'data-testid': 'builder-preview' });
  const note = h('p', { class: 'organize-hint' });
  const mapHost = h('div', { class: 'organize-preview-map' });
  const legend = h('ul', { class: 'legend' });
  host.append(mapHost, legend);
  let view: SeatMapView | null = null;
  let timer: number | undefined;

  const element = h(
    'section',
    { class: 'organize-preview', 'aria-labelledby': 'preview-title' },
    h('h3', { id: 'preview-title' }, 'Preview'),
    h('p', { class: 'organize-total' }, 'Total: ', total),
    host,
    note,
  );

  const showTotal = (seats: number) => {
    total.textContent = `${seats.toLocaleString()} ${seats === 1 ? 'seat' : 'seats'}`;
    total.dataset.value = String(seats);
  };

  /** Draws the body now (a redraw still waiting is dropped). */
  const show = (body: CreateEventBody) => {
    window.clearTimeout(timer);
    view?.destroy();
    view = null;
    mapHost.replaceChildren();
    // Counted before the seat list is made: a mistyped million seats must not hang the page.
    const seatCount = body.seat_map.sections.reduce(
      (sum, section) =>
        sum + section.rows.reduce((rows, row) => rows + (Number.isInteger(row.seats) ? Math.max(0, row.seats) : 0), 0),
      0,
    );
    const seats = seatCount > previewSeatsMax ? [] : previewSeats(body);
    replace(
      legend,
      ...body.price_tiers.map((tier, index) =>
        h(
          'li',
          {},
          h('span', { class: 'swatch', style: `background:${tierColorAt(index)}` }),
          `${tier.name || '(unnamed tier)'} ${Number.isFinite(tier.price_cents) ? money(tier.price_cents, tier.currency) : ''}`,
        ),
      ),
    );
    if (seats.length === 0) {
      mapHost.append(
        h(
          'p',
          { class: 'organize-preview-empty' },
          seatCount <= previewSeatsMax
            ? 'Add a section with rows and seats to see the map.'
            : `The preview draws up to ${previewSeatsMax.toLocaleString()} seats.`,
        ),
      );
      note.textContent = '';
      return;
    }
    const model = SeatMapModel.fromApi(
      { price_tiers: body.price_tiers, sections: body.seat_map.sections },
      { event_id: 'preview', version: 0, seats },
    );
    view = new SeatMapView(mapHost, { model, tiers: body.price_tiers, selectable: false, maxSelectable: 0 });
    note.textContent =
      'Sections without a position are arranged in a fan facing the stage. Scroll or use + and − to zoom.';
  };

  /** Draws the body read a moment from now: typing redraws once it pauses. */
  const showSoon = (read: () => CreateEventBody) => {
    window.clearTimeout(timer);
    timer = window.setTimeout(() => show(read()), previewDelayMs);
  };

  const destroy = () => {
    window.clearTimeout(timer);
    view?.destroy();
  };

  // The total is also where an error about the whole seat map goes.
  return { element, total, showTotal, show, showSoon, destroy };
}
