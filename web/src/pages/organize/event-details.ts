// The builder's event details: name, category, description, venue, when it starts and when
// its sale opens (typed in the visitor's time zone, sent in UTC), and the seats per buyer.
import { h } from '../../dom.ts';
import { categories } from '../events.ts';
import type { FieldTargets } from './event-body.ts';
import { field, integerOf } from './fields.ts';

const defaultStartsInDays = 30;

/** "YYYY-MM-DDTHH:mm" in the visitor's time zone, the value a datetime-local input holds. */
function localInputValue(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}T${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

/** A datetime-local value (local time) as an ISO instant in UTC; what cannot be read is sent as typed. */
function isoFromLocal(value: string): string {
  const date = new Date(value);
  return value && !Number.isNaN(date.getTime()) ? date.toISOString() : value;
}

/** "The event" fieldset, filled with defaults: a start a month from now at 19:00, a sale open now. */
export function createEventDetails() {
  const now = new Date();
  const startsAt = new Date(now);
  startsAt.setDate(startsAt.getDate() + defaultStartsInDays);
  startsAt.setHours(19, 0, 0, 0);
  const name = h('input', { name: 'name', required: true, maxlength: 200, 'data-testid': 'builder-name' });
  const category = h('input', { name: 'category', required: true, maxlength: 50, list: 'organize-categories' });
  category.value = 'concert';
  const description = h('textarea', { name: 'description', rows: 3, maxlength: 5000 });
  const venueName = h('input', { name: 'venue-name', required: true, maxlength: 200 });
  venueName.value = 'Main Hall';
  const venueCity = h('input', { name: 'venue-city', required: true, maxlength: 100 });
  venueCity.value = 'Springfield';
  const startsAtInput = h('input', { type: 'datetime-local', name: 'starts-at', required: true });
  startsAtInput.value = localInputValue(startsAt);
  const saleOpensAtInput = h('input', { type: 'datetime-local', name: 'sale-opens-at', required: true });
  saleOpensAtInput.value = localInputValue(now);
  const maxSeats = h('input', {
    type: 'number',
    name: 'max-seats-per-user',
    min: 1,
    max: 1000,
    step: 1,
    required: true,
  });
  maxSeats.value = '8';
  const timeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

  /** The details to send (description empty when not given), and where their errors go. */
  const read = (targets: FieldTargets) => {
    const fixed: [string, HTMLElement][] = [
      ['/name', name],
      ['/category', category],
      ['/description', description],
      ['/venue', venueName],
      ['/venue/name', venueName],
      ['/venue/city', venueCity],
      ['/starts_at', startsAtInput],
      ['/sale_opens_at', saleOpensAtInput],
      ['/max_seats_per_user', maxSeats],
    ];
    for (const [path, control] of fixed) targets.set(path, control);
    return {
      name: name.value.trim(),
      category: category.value.trim(),
      description: description.value.trim(),
      starts_at: isoFromLocal(startsAtInput.value),
      sale_opens_at: isoFromLocal(saleOpensAtInput.value),
      venue: { name: venueName.value.trim(), city: venueCity.value.trim() },
      max_seats_per_user: integerOf(maxSeats),
    };
  };

  const element = h(
    'fieldset',
    {},
    h('legend', {}, 'The event'),
    h(
      'div',
      { class: 'organize-grid' },
      field('Event name', name),
      field('Category', category, 'Pick one or type your own'),
    ),
    h('datalist', { id: 'organize-categories' }, ...categories.map((value) => h('option', { value }))),
    field('Description (optional)', description),
    h('div', { class: 'organize-grid' }, field('Venue name', venueName), field('City', venueCity)),
    h(
      'div',
      { class: 'organize-grid' },
      field('Starts at', startsAtInput, `Your time zone (${timeZone})`),
      field('Sale opens at', saleOpensAtInput, 'Before the start; now by default'),
    ),
    h('div', { class: 'organize-grid' }, field('Max seats per buyer', maxSeats)),
  );

  return { element, read };
}
