// The organizer's page: their events in every status (publish a draft from here), and the
// event builder, a form that writes the POST /v1/events body with a live seat total and a
// preview of the seat map as buyers will see it. The server is the judge of the body: the
// form sends what it holds and shows the 400's field errors next to the fields they name.
import './organize.css';
import { api, type Section, type Tier } from '../api.ts';
import { append, h, replace } from '../dom.ts';
import type { PageContext } from '../main.ts';
import { currentSession } from '../session.ts';
import { categories } from './events.ts';
import { type CreateEventBody, rowsPerSectionMax, seatsPerRowMax } from './organize/event-body.ts';
import { field, fieldId, integerOf } from './organize/fields.ts';
import { createFieldErrors } from './organize/field-errors.ts';
import { createMyEvents } from './organize/my-events.ts';
import { createPreview } from './organize/preview.ts';

// Two-decimal currencies only: prices are typed in units and sent in cents.
const currencies = ['USD', 'EUR', 'GBP', 'CAD', 'AUD', 'NZD', 'CHF', 'SEK', 'NOK', 'DKK'];
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

/** 0 -> "A", 25 -> "Z", 26 -> "AA": the letters venues print on row ends. */
function rowLabel(index: number, style: string): string {
  if (style === 'numbers') return String(index + 1);
  let label = '';
  for (let rest = index + 1; rest > 0; rest = Math.floor((rest - 1) / 26)) {
    label = String.fromCharCode(65 + ((rest - 1) % 26)) + label;
  }
  return label;
}

function slug(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 56);
}

/** Tier ids from tier names: "VIP Floor" -> "vip-floor", repeats get "-2", "-3". */
function tierIdsOf(names: string[]): string[] {
  const used = new Set<string>();
  return names.map((name, index) => {
    const base = slug(name) || `tier-${index + 1}`;
    let id = base;
    for (let suffix = 2; used.has(id); suffix += 1) id = `${base}-${suffix}`;
    used.add(id);
    return id;
  });
}

// ---------------------------------------------------------------- the page

export function renderOrganize(context: PageContext) {
  if (!context.requireSignIn()) return;
  context.setTitle('Organize');
  const session = currentSession()!;
  if (session.role !== 'organizer' && session.role !== 'admin') {
    replace(
      context.root,
      h(
        'div',
        { class: 'panel narrow', 'data-testid': 'organizer-only' },
        h('h1', {}, 'Organize events'),
        h('p', {}, `You are signed in as ${session.userId}, a buyer. Only organizers can create events.`),
        h('p', {}, h('a', { href: '/login?next=/organize', 'data-link': true }, 'Sign in as an organizer')),
      ),
    );
    return;
  }

  const controller = new AbortController();
  const myEvents = createMyEvents(context, controller.signal);
  const builder = createBuilder(context, () => void myEvents.load(false));
  replace(
    context.root,
    h('h1', {}, 'Organize'),
    h('div', { class: 'organize-layout' }, myEvents.element, builder.element),
  );
  void myEvents.load(false);
  return () => {
    controller.abort();
    builder.destroy();
  };
}

// ---------------------------------------------------------------- the builder

interface TierDraft {
  key: number;
  element: HTMLElement;
  name: HTMLInputElement;
  price: HTMLInputElement;
  idText: HTMLElement;
  remove: HTMLButtonElement;
}

interface RowDraft {
  label: HTMLInputElement;
  seats: HTMLInputElement;
}

interface SectionDraft {
  element: HTMLFieldSetElement;
  legend: HTMLElement;
  name: HTMLInputElement;
  tier: HTMLSelectElement;
  rowCount: HTMLInputElement;
  seatsPerRow: HTMLInputElement;
  labelStyle: HTMLSelectElement;
  rows: RowDraft[];
  rowList: HTMLElement;
  rowEditor: HTMLDetailsElement;
  rowNote: HTMLElement;
  x: HTMLInputElement;
  y: HTMLInputElement;
  angle: HTMLInputElement;
  positionEditor: HTMLDetailsElement;
  remove: HTMLButtonElement;
}

function createBuilder(context: PageContext, onCreated: () => void) {
  const tiers: TierDraft[] = [];
  const sections: SectionDraft[] = [];
  let nextTierKey = 0;

  // -- the event
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

  // -- price tiers
  const currency = h('select', { name: 'currency' }, ...currencies.map((code) => h('option', { value: code }, code)));
  const tierList = h('div', { class: 'organize-tiers' });
  const addTierButton = h('button', { type: 'button' }, 'Add price tier');

  // -- sections
  const sectionList = h('div', { class: 'organize-sections' });
  const addSectionButton = h('button', { type: 'button', 'data-testid': 'add-section' }, 'Add section');

  // -- waiting room
  const waitingRoomOn = h('input', { type: 'checkbox', name: 'waiting-room', id: fieldId('organize') });
  const admitPerMinute = h('input', { type: 'number', name: 'admit-per-minute', min: 1, max: 1_000_000, step: 1 });
  admitPerMinute.value = '600';
  admitPerMinute.disabled = true;

  // -- totals, preview, outcome
  const outcome = h('p', { class: 'organize-outcome', role: 'status', 'data-testid': 'builder-outcome' });
  const draftButton = h(
    'button',
    { type: 'submit', 'data-status': 'draft', 'data-testid': 'create-draft' },
    'Create as draft',
  );
  const publishButton = h(
    'button',
    { type: 'submit', class: 'primary', 'data-status': 'published', 'data-testid': 'create-publish' },
    'Create and publish',
  );

  const form = h('form', {
    class: 'panel organize-builder',
    'data-testid': 'event-builder',
    'aria-labelledby': 'builder-title',
    // The server judges the body and names every field it refuses, next to the field.
    novalidate: true,
  });
  const preview = createPreview();
  const errors = createFieldErrors(form);

  // ------------------------------------------------ tiers

  const refreshTiers = () => {
    const ids = tierIdsOf(tiers.map((tier) => tier.name.value.trim()));
    tiers.forEach((tier, index) => {
      tier.idText.textContent = `id: ${ids[index]}`;
      tier.remove.disabled = tiers.length === 1;
      tier.remove.setAttribute('aria-label', `Remove tier ${tier.name.value.trim() || index + 1}`);
    });
    for (const section of sections) fillTierSelect(section.tier);
    tierList
      .querySelectorAll<HTMLElement>('.organize-price-unit')
      .forEach((unit) => (unit.textContent = currency.value));
  };

  const fillTierSelect = (select: HTMLSelectElement) => {
    const chosen = select.value;
    select.replaceChildren(
      ...tiers.map((tier) => h('option', { value: String(tier.key) }, tier.name.value.trim() || '(unnamed tier)')),
    );
    if (tiers.some((tier) => String(tier.key) === chosen)) select.value = chosen;
  };

  const addTier = (tierName: string, price: string) => {
    const key = nextTierKey++;
    const nameInput = h('input', { name: 'tier-name', required: true, maxlength: 200, 'data-testid': 'tier-name' });
    nameInput.value = tierName;
    const priceInput = h('input', {
      type: 'number',
      name: 'tier-price',
      min: 0,
      step: 0.01,
      required: true,
      inputmode: 'decimal',
      'data-testid': 'tier-price',
    });
    priceInput.value = price;
    const remove = h('button', { type: 'button', class: 'organize-remove' }, 'Remove tier');
    const idText = h('span', { class: 'organize-hint organize-tier-id' });
    const element = h(
      'div',
      { class: 'organize-tier', 'data-testid': 'builder-tier' },
      field('Tier name', nameInput),
      h(
        'div',
        { class: 'field' },
        h(
          'label',
          { for: (priceInput.id = fieldId('organize')) },
          'Price (',
          h('span', { class: 'organize-price-unit' }, currency.value),
          ')',
        ),
        priceInput,
      ),
      idText,
      remove,
    );
    const tier: TierDraft = { key, element, name: nameInput, price: priceInput, idText, remove };
    remove.addEventListener('click', () => {
      if (tiers.length === 1) return;
      tiers.splice(tiers.indexOf(tier), 1);
      element.remove();
      refreshTiers();
      changed();
    });
    nameInput.addEventListener('input', refreshTiers);
    tiers.push(tier);
    tierList.append(element);
    refreshTiers();
    return tier;
  };

  // ------------------------------------------------ sections

  const sectionSeats = (section: SectionDraft) =>
    section.rows.reduce((sum, row) => {
      const seats = integerOf(row.seats);
      return sum + (Number.isInteger(seats) && seats > 0 ? seats : 0);
    }, 0);

  const renumberSections = () => {
    sections.forEach((section, index) => {
      const seats = sectionSeats(section);
      section.legend.textContent = `Section ${index + 1} · ${seats.toLocaleString()} ${seats === 1 ? 'seat' : 'seats'}`;
      section.remove.setAttribute('aria-label', `Remove section ${section.name.value.trim() || index + 1}`);
    });
  };

  const rowDraft = (label: string, seats: string): RowDraft => {
    const labelInput = h('input', { name: 'row-label', required: true, maxlength: 32, class: 'organize-row-label' });
    labelInput.value = label;
    const seatsInput = h('input', {
      type: 'number',
      name: 'row-seats',
      min: 1,
      max: seatsPerRowMax,
      step: 1,
      required: true,
      class: 'organize-row-seats',
    });
    seatsInput.value = seats;
    return { label: labelInput, seats: seatsInput };
  };

  const renderRows = (section: SectionDraft) => {
    replace(
      section.rowList,
      ...section.rows.map((row, index) => {
        row.label.id ||= fieldId('organize');
        row.seats.id ||= fieldId('organize');
        return h(
          'div',
          { class: 'organize-row' },
          h('label', { for: row.label.id }, `Row ${index + 1} label`),
          row.label,
          h('label', { for: row.seats.id }, 'seats'),
          row.seats,
        );
      }),
    );
    section.rowEditor.querySelector('summary')!.textContent = `Edit rows one by one (${section.rows.length})`;
  };

  /** The generator: row count and seats per row make the rows; rows already there keep their edits. */
  const generateRows = (section: SectionDraft, what: 'count' | 'seats' | 'labels') => {
    const requested = integerOf(section.rowCount);
    const count = Number.isInteger(requested) && requested > 0 ? Math.min(requested, rowsPerSectionMax) : 0;
    section.rowNote.textContent =
      requested > rowsPerSectionMax ? `At most ${rowsPerSectionMax.toLocaleString()} rows per section.` : '';
    const style = section.labelStyle.value;
    if (what === 'seats') for (const row of section.rows) row.seats.value = section.seatsPerRow.value;
    if (what === 'labels') section.rows.forEach((row, index) => (row.label.value = rowLabel(index, style)));
    if (section.rows.length > count) section.rows.length = count;
    while (section.rows.length < count) {
      section.rows.push(rowDraft(rowLabel(section.rows.length, style), section.seatsPerRow.value));
    }
    renderRows(section);
  };

  const uniqueSectionName = () => {
    const names = new Set(sections.map((section) => section.name.value.trim()));
    for (let index = sections.length; ; index += 1) {
      const candidate = `Section ${rowLabel(index, 'letters')}`;
      if (!names.has(candidate)) return candidate;
    }
  };

  const addSection = () => {
    const nameInput = h('input', {
      name: 'section-name',
      required: true,
      maxlength: 100,
      'data-testid': 'section-name',
    });
    nameInput.value = uniqueSectionName();
    const tierSelect = h('select', { name: 'section-tier', 'data-testid': 'section-tier' });
    const rowCount = h('input', {
      type: 'number',
      name: 'section-rows',
      min: 1,
      max: rowsPerSectionMax,
      step: 1,
      required: true,
      'data-testid': 'section-rows',
    });
    rowCount.value = '5';
    const seatsPerRow = h('input', {
      type: 'number',
      name: 'section-seats-per-row',
      min: 1,
      max: seatsPerRowMax,
      step: 1,
      required: true,
      'data-testid': 'section-seats-per-row',
    });
    seatsPerRow.value = '10';
    const labelStyle = h(
      'select',
      { name: 'section-row-labels', 'data-testid': 'section-row-labels' },
      h('option', { value: 'letters' }, 'A, B, C … Z, AA'),
      h('option', { value: 'numbers' }, '1, 2, 3 …'),
    );
    const rowList = h('div', { class: 'organize-rows' });
    const rowEditor = h('details', { class: 'organize-row-editor' }, h('summary', {}, 'Edit rows one by one'), rowList);
    const rowNote = h('p', { class: 'organize-hint', 'aria-live': 'polite' });
    const number = (inputName: string, min: number, max: number) =>
      h('input', { type: 'number', name: inputName, min, max, step: 'any', class: 'organize-short' });
    const x = number('section-x', -100_000, 100_000);
    const y = number('section-y', -100_000, 100_000);
    const angle = number('section-angle', -360, 360);
    const positionEditor = h(
      'details',
      { class: 'organize-position' },
      h('summary', {}, 'Position on the plan (optional)'),
      h(
        'p',
        { class: 'organize-hint' },
        'In seat widths from the plan’s origin, the stage at the top; angle in degrees clockwise. Sections left without one are arranged facing the stage.',
      ),
      h('div', { class: 'organize-inline' }, field('Left (x)', x), field('Top (y)', y), field('Angle', angle)),
    );
    const legend = h('legend', {});
    const remove = h('button', { type: 'button', class: 'organize-remove' }, 'Remove section');
    const element = h(
      'fieldset',
      { class: 'organize-section', 'data-testid': 'builder-section' },
      legend,
      h('div', { class: 'organize-inline' }, field('Section name', nameInput), field('Price tier', tierSelect)),
      h(
        'div',
        { class: 'organize-inline organize-generator' },
        field('Rows', rowCount),
        h('span', { class: 'organize-times', 'aria-hidden': 'true' }, '×'),
        field('Seats per row', seatsPerRow),
        field('Row labels', labelStyle),
      ),
      rowNote,
      rowEditor,
      positionEditor,
      h('div', { class: 'organize-section-foot' }, remove),
    );
    const section: SectionDraft = {
      element,
      legend,
      name: nameInput,
      tier: tierSelect,
      rowCount,
      seatsPerRow,
      labelStyle,
      rows: [],
      rowList,
      rowEditor,
      rowNote,
      x,
      y,
      angle,
      positionEditor,
      remove,
    };
    fillTierSelect(tierSelect);
    rowCount.addEventListener('input', () => generateRows(section, 'count'));
    seatsPerRow.addEventListener('input', () => generateRows(section, 'seats'));
    labelStyle.addEventListener('change', () => generateRows(section, 'labels'));
    remove.addEventListener('click', () => {
      sections.splice(sections.indexOf(section), 1);
      element.remove();
      changed();
    });
    generateRows(section, 'count');
    sections.push(section);
    sectionList.append(element);
    return section;
  };

  // ------------------------------------------------ reading the form

  /** The body to send, and the control each field path of it came from (where its error goes). */
  const read = (status: 'draft' | 'published') => {
    const targets = new Map<string, HTMLElement>();
    const ids = tierIdsOf(tiers.map((tier) => tier.name.value.trim()));
    const idOfKey = new Map(tiers.map((tier, index) => [String(tier.key), ids[index]!]));
    const price_tiers = tiers.map((tier, index): Tier => {
      targets.set(`/price_tiers/${index}/id`, tier.name);
      targets.set(`/price_tiers/${index}/name`, tier.name);
      targets.set(`/price_tiers/${index}/price_cents`, tier.price);
      targets.set(`/price_tiers/${index}/currency`, currency);
      const price = tier.price.value.trim() === '' ? NaN : Number(tier.price.value);
      return {
        id: ids[index]!,
        name: tier.name.value.trim(),
        price_cents: Math.round(price * 100),
        currency: currency.value,
      };
    });
    targets.set('/price_tiers', currency);
    const seatSections = sections.map((section, index): Section => {
      const at = `/seat_map/sections/${index}`;
      targets.set(`${at}/name`, section.name);
      targets.set(`${at}/price_tier`, section.tier);
      targets.set(`${at}/rows`, section.rowCount);
      targets.set(at, section.name);
      const rows = section.rows.map((row, rowIndex) => {
        targets.set(`${at}/rows/${rowIndex}/label`, row.label);
        targets.set(`${at}/rows/${rowIndex}/seats`, row.seats);
        targets.set(`${at}/rows/${rowIndex}`, row.seats);
        return { label: row.label.value.trim(), seats: integerOf(row.seats) };
      });
      const drawn: Section = {
        name: section.name.value.trim(),
        price_tier: idOfKey.get(section.tier.value) ?? '',
        rows,
      };
      const [x, y, angle] = [section.x, section.y, section.angle].map((input) => input.value.trim());
      if (x || y || angle) {
        targets.set(`${at}/position`, section.x);
        targets.set(`${at}/position/x`, section.x);
        targets.set(`${at}/position/y`, section.y);
        targets.set(`${at}/position/angle`, section.angle);
        // Partly filled: sent as typed (empty as null) so the server says which part is missing.
        drawn.position = { x: x ? Number(x) : NaN, y: y ? Number(y) : NaN, ...(angle ? { angle: Number(angle) } : {}) };
      }
      return drawn;
    });
    const body: CreateEventBody = {
      name: name.value.trim(),
      category: category.value.trim(),
      status,
      starts_at: isoFromLocal(startsAtInput.value),
      sale_opens_at: isoFromLocal(saleOpensAtInput.value),
      venue: { name: venueName.value.trim(), city: venueCity.value.trim() },
      max_seats_per_user: integerOf(maxSeats),
      price_tiers,
      seat_map: { sections: seatSections },
    };
    if (description.value.trim()) body.description = description.value.trim();
    if (waitingRoomOn.checked) body.waiting_room = { enabled: true, admit_per_minute: integerOf(admitPerMinute) };
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
      ['/seat_map/sections', addSectionButton],
      ['/seat_map', preview.total],
      ['/waiting_room', waitingRoomOn],
      ['/waiting_room/admit_per_minute', admitPerMinute],
    ];
    for (const [path, control] of fixed) targets.set(path, control);
    return { body, targets };
  };

  // ------------------------------------------------ totals and preview

  const seatTotal = () => sections.reduce((sum, section) => sum + sectionSeats(section), 0);

  const changed = () => {
    preview.showTotal(seatTotal());
    renumberSections();
    preview.showSoon(() => read('draft').body);
  };

  // ------------------------------------------------ submit

  let busy = false;
  const submit = async (status: 'draft' | 'published') => {
    if (busy) return;
    errors.clear();
    outcome.replaceChildren();
    const { body, targets } = read(status);
    preview.show(body);
    busy = true;
    draftButton.disabled = publishButton.disabled = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const created = await api<{ event_id: string; seat_count: number; status: string }>('/v1/events', {
        method: 'POST',
        body,
      });
      const what = created.status === 'draft' ? 'saved as a draft' : 'published';
      context.notify(`“${body.name}” ${what} with ${created.seat_count.toLocaleString()} seats.`, 'success');
      replace(
        outcome,
        `“${body.name}” ${what} with ${created.seat_count.toLocaleString()} seats. `,
        h('a', { href: `/events/${encodeURIComponent(created.event_id)}`, 'data-link': true }, 'Open its page'),
      );
      onCreated();
    } catch (error) {
      errors.show(error, body, targets);
    } finally {
      busy = false;
      draftButton.disabled = publishButton.disabled = false;
      form.removeAttribute('aria-busy');
    }
  };

  // ------------------------------------------------ the form

  const eventFieldset = h(
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
  const tierFieldset = h(
    'fieldset',
    {},
    h('legend', {}, 'Price tiers'),
    h('div', { class: 'organize-inline' }, field('Currency (all tiers)', currency)),
    tierList,
    addTierButton,
  );
  const mapFieldset = h(
    'fieldset',
    { class: 'organize-map' },
    h('legend', {}, 'Seat map'),
    sectionList,
    h('div', { class: 'organize-inline' }, addSectionButton),
  );
  const waitingRoomFieldset = h(
    'fieldset',
    {},
    h('legend', {}, 'Waiting room'),
    h(
      'div',
      { class: 'organize-inline' },
      h(
        'label',
        { class: 'organize-check', for: waitingRoomOn.id },
        waitingRoomOn,
        ' Meter buyers through a waiting room when the sale opens',
      ),
      field('Admit per minute', admitPerMinute),
    ),
  );

  append(
    form,
    h('h2', { id: 'builder-title' }, 'New event'),
    h(
      'div',
      { class: 'organize-builder-grid' },
      h('div', { class: 'organize-fields' }, eventFieldset, tierFieldset, mapFieldset, waitingRoomFieldset),
      h(
        'div',
        { class: 'organize-side' },
        preview.element,
        errors.element,
        h('div', { class: 'actions organize-actions' }, draftButton, publishButton),
        outcome,
      ),
    ),
  );

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    // Enter in a field submits with the first button, the draft: publishing takes a click.
    const submitter = (event as SubmitEvent).submitter;
    void submit(submitter?.dataset.status === 'published' ? 'published' : 'draft');
  });
  form.addEventListener('input', (event) => {
    errors.clearControl(event.target as HTMLElement);
    changed();
  });
  form.addEventListener('change', changed);
  currency.addEventListener('change', refreshTiers);
  waitingRoomOn.addEventListener('change', () => (admitPerMinute.disabled = !waitingRoomOn.checked));
  addTierButton.addEventListener('click', () => {
    addTier('', '').name.focus();
    changed();
  });
  addSectionButton.addEventListener('click', () => {
    addSection().name.focus();
    changed();
  });

  addTier('Standard', '50.00');
  addSection();
  changed();

  return {
    element: form,
    destroy: preview.destroy,
  };
}
