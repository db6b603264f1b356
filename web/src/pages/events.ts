// The event list: full-text search with filters (date, city, category), page by page.
import { api, describeError, query, type EventSummary } from '../api.ts';
import { h, replace } from '../dom.ts';
import { dateTime, money } from '../format.ts';
import { saleBadges } from '../sale-badges.ts';
import type { PageContext } from '../main.ts';

interface EventsPage {
  events: EventSummary[];
  next_cursor: string | null;
}

/** The categories offered in the filters and the organizer's builder (any other may be typed there). */
export const categories = ['concert', 'sports', 'theatre', 'comedy', 'festival', 'family', 'opera', 'ballet'];

/** A date field's day as the start (or the end) of that day in the visitor's time zone. */
function dayBoundary(value: string, end: boolean): string | undefined {
  if (!value) return undefined;
  const date = new Date(`${value}T00:00:00`);
  if (end) date.setDate(date.getDate() + 1);
  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

export function renderEvents(context: PageContext) {
  context.setTitle('Events');
  const filters = {
    q: context.query.get('q') ?? '',
    city: context.query.get('city') ?? '',
    category: context.query.get('category') ?? '',
    from: context.query.get('from') ?? '',
    to: context.query.get('to') ?? '',
  };
  const field = (name: keyof typeof filters, label: string, input: HTMLInputElement | HTMLSelectElement) => {
    input.id = `filter-${name}`;
    input.name = name;
    input.value = filters[name];
    return h('div', { class: 'field' }, h('label', { for: input.id }, label), input);
  };
  const form = h(
    'form',
    { class: 'filters', role: 'search', 'aria-label': 'Find events' },
    field('q', 'Search', h('input', { type: 'search', placeholder: 'Artist, team, show, venue…', maxlength: 200 })),
    field('city', 'City', h('input', { type: 'text', maxlength: 100 })),
    field(
      'category',
      'Category',
      h(
        'select',
        {},
        h('option', { value: '' }, 'Any'),
        ...categories.map((category) => h('option', { value: category }, category)),
      ),
    ),
    field('from', 'From', h('input', { type: 'date' })),
    field('to', 'To', h('input', { type: 'date' })),
    h('button', { type: 'submit', class: 'primary' }, 'Search'),
  );
  const list = h('ul', { class: 'event-list', 'aria-live': 'polite', 'data-testid': 'event-list' });
  const status = h('p', { class: 'hint' });
  const more = h('button', { type: 'button', hidden: true }, 'More events');
  let cursor: string | null = null;
  const controller = new AbortController();

  const load = async (append: boolean) => {
    status.textContent = 'Loading…';
    more.hidden = true;
    try {
      const page = await api<EventsPage>(
        `/v1/events${query({
          q: filters.q.trim(),
          city: filters.city.trim(),
          category: filters.category,
          from: dayBoundary(filters.from, false),
          to: dayBoundary(filters.to, true),
          cursor: append ? cursor : null,
          limit: 20,
        })}`,
        { signal: controller.signal },
      );
      if (!append) list.replaceChildren();
      for (const event of page.events) list.append(eventCard(event));
      cursor = page.next_cursor;
      more.hidden = cursor === null;
      status.textContent = list.children.length === 0 ? 'No events match.' : '';
    } catch (error) {
      if (controller.signal.aborted) return;
      status.textContent = describeError(error);
    }
  };
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    for (const name of Object.keys(filters) as (keyof typeof filters)[]) filters[name] = String(data.get(name) ?? '');
    history.replaceState(null, '', `/${query(filters)}`);
    void load(false);
  });
  more.addEventListener('click', () => void load(true));
  replace(context.root, h('h1', {}, 'Events'), form, status, list, more);
  void load(false);
  return () => controller.abort();
}

function eventCard(event: EventSummary) {
  const prices =
    event.price_from_cents === event.price_to_cents
      ? money(event.price_from_cents, event.currency)
      : `${money(event.price_from_cents, event.currency)} – ${money(event.price_to_cents, event.currency)}`;
  return h(
    'li',
    { class: 'event-card', 'data-event-id': event.event_id },
    h('a', { href: `/events/${event.event_id}`, 'data-link': true, class: 'event-name' }, event.name),
    h('div', { class: 'event-meta' }, `${dateTime(event.starts_at)} · ${event.venue.name}, ${event.venue.city}`),
    h(
      'div',
      { class: 'sale-badges', 'data-testid': 'sale-badges' },
      ...saleBadges(event, Date.now()).map((badge) =>
        h('span', { class: `sale-badge sale-badge-${badge.kind}` }, badge.text),
      ),
    ),
    h(
      'div',
      { class: 'event-meta' },
      h('span', { class: 'tag' }, event.category),
      ` ${prices} · `,
      h('span', { 'data-testid': 'seat-count' }, `${event.seat_count.toLocaleString()} seats`),
    ),
  );
}
