// The seat map as a table of available seats, for keyboards and screen readers: filter by
// section and price, tick seats. It shares the canvas's SeatSelection, so a seat ticked
// here is selected there too. Only the first rows that match are in the DOM (200, and
// "Show 200 more", which moves focus to the first seat it adds), so 100,000 seats cost a
// scan of typed arrays, not 100,000 elements.
import { formatPrice, seatLabel, seatPrice } from './describe.ts';
import type { PriceTier, SeatMapModel } from './model.ts';
import { SeatSelection, type SelectionCallbacks } from './selection.ts';
import { seatKindOf, seatKindText } from './seat-kinds.ts';

export interface SeatListViewOptions extends SelectionCallbacks {
  model: SeatMapModel;
  /** Defaults to the model's tiers; only their names and prices are shown. */
  tiers?: readonly PriceTier[];
  /** The canvas view's selection (`mapView.selection`), so both show the same seats. */
  selection?: SeatSelection;
  /** Used when no selection is given (default 8). */
  maxSelectable?: number;
  selectable?: boolean;
  /** Rows shown at first and added by "show more" (default 200). */
  pageSize?: number;
}

export class SeatListView {
  readonly model: SeatMapModel;
  readonly selection: SeatSelection;
  private readonly root: HTMLDivElement;
  private readonly sectionFilter: HTMLSelectElement;
  private readonly priceFilter: HTMLSelectElement;
  /** Only wheelchair spaces and companion seats; null when the event has none. */
  private readonly accessibleFilter: HTMLInputElement | null;
  private readonly summary: HTMLParagraphElement;
  private readonly body: HTMLTableSectionElement;
  private readonly more: HTMLButtonElement;
  private readonly ownsSelection: boolean;
  private readonly pageSize: number;
  private readonly cleanups: (() => void)[] = [];
  private readonly rows = new Map<number, HTMLTableRowElement>();
  /** Seats now in the table, ascending. */
  private shown: number[] = [];
  private limit: number;
  private selectable: boolean;
  private frame = 0;

  constructor(container: HTMLElement, options: SeatListViewOptions) {
    this.model = options.model;
    this.ownsSelection = !options.selection;
    this.selection =
      options.selection ??
      new SeatSelection(options.model, {
        maxSelectable: options.maxSelectable ?? 8,
        onSelectionChange: options.onSelectionChange,
        onSelectionLost: options.onSelectionLost,
        onLimit: options.onLimit,
      });
    this.selectable = options.selectable ?? true;
    this.pageSize = Math.max(1, options.pageSize ?? 200);
    this.limit = this.pageSize;
    const tiers = options.tiers ?? this.model.tiers;

    this.root = document.createElement('div');
    this.root.className = 'seat-list';
    const filters = document.createElement('div');
    Object.assign(filters.style, { display: 'flex', flexWrap: 'wrap', gap: '12px', alignItems: 'end' });
    this.sectionFilter = document.createElement('select');
    this.sectionFilter.append(new Option('All sections', '-1'));
    this.model.sections.forEach((section, index) => this.sectionFilter.append(new Option(section.name, String(index))));
    this.priceFilter = document.createElement('select');
    this.priceFilter.append(new Option('All prices', '-1'));
    this.model.tiers.forEach((tier, index) => {
      const shown = tiers.find((given) => given.id === tier.id) ?? tier;
      this.priceFilter.append(
        new Option(`${shown.name} (${formatPrice(shown.price_cents, shown.currency)})`, String(index)),
      );
    });
    filters.append(labelled('Section', this.sectionFilter), labelled('Price', this.priceFilter));
    this.accessibleFilter = this.model.kinds.some((kind) => kind !== 0) ? document.createElement('input') : null;
    if (this.accessibleFilter) {
      this.accessibleFilter.type = 'checkbox';
      const label = document.createElement('label');
      Object.assign(label.style, { display: 'flex', gap: '6px', alignItems: 'center' });
      label.append(this.accessibleFilter, 'Wheelchair spaces and companion seats only');
      filters.append(label);
    }

    this.summary = document.createElement('p');
    const table = document.createElement('table');
    const caption = document.createElement('caption');
    caption.textContent = 'Available seats';
    caption.style.textAlign = 'left';
    const head = document.createElement('thead');
    const headRow = document.createElement('tr');
    for (const title of ['Select', 'Section', 'Row', 'Seat', 'Price']) {
      const cell = document.createElement('th');
      cell.scope = 'col';
      cell.textContent = title;
      cell.style.textAlign = 'left';
      headRow.append(cell);
    }
    head.append(headRow);
    this.body = document.createElement('tbody');
    table.append(caption, head, this.body);
    this.more = document.createElement('button');
    this.more.type = 'button';
    this.more.addEventListener('click', () => {
      const before = this.shown.length;
      this.limit += this.pageSize;
      this.render();
      // A keyboard user goes on from the first seat added, not from the button now below
      // them (or gone, on the last page).
      const first = this.shown[before];
      if (first !== undefined) checkboxOf(this.rows.get(first)!).focus();
    });

    this.root.append(filters, this.summary, table, this.more);
    container.append(this.root);

    const refilter = () => {
      this.limit = this.pageSize;
      this.render();
    };
    this.sectionFilter.addEventListener('change', refilter);
    this.priceFilter.addEventListener('change', refilter);
    this.accessibleFilter?.addEventListener('change', refilter);
    this.body.addEventListener('change', (event) => this.onTick(event));
    this.cleanups.push(this.model.onStatusChange(() => this.invalidate()));
    this.cleanups.push(this.selection.subscribe((changed) => this.syncTicks(changed)));
    this.render();
  }

  setSelectable(selectable: boolean): void {
    this.selectable = selectable;
    for (const row of this.rows.values()) checkboxOf(row).disabled = !selectable;
  }

  destroy(): void {
    cancelAnimationFrame(this.frame);
    for (const cleanup of this.cleanups) cleanup();
    if (this.ownsSelection) this.selection.destroy();
    this.root.remove();
  }

  private onTick(event: Event): void {
    const input = event.target;
    if (!(input instanceof HTMLInputElement)) return;
    const seat = Number(input.dataset.seat);
    if (!this.selectable) {
      input.checked = this.selection.has(seat);
      return;
    }
    const wanted = input.checked;
    if (wanted !== this.selection.has(seat)) this.selection.toggle(seat);
    // Refused (limit, or taken a moment ago): the box shows the truth.
    input.checked = this.selection.has(seat);
  }

  private syncTicks(changed: readonly number[] | null): void {
    const seats = changed ?? [...this.rows.keys()];
    for (const seat of seats) {
      const row = this.rows.get(seat);
      if (row) checkboxOf(row).checked = this.selection.has(seat);
    }
  }

  /** Live changes arrive a few times a second: one re-render per frame. */
  private invalidate(): void {
    if (this.frame !== 0) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  private render(): void {
    const { wanted, total } = this.matching();
    this.summary.textContent = `${total.toLocaleString()} available ${total === 1 ? 'seat matches' : 'seats match'}; showing ${wanted.length.toLocaleString()}.`;
    this.more.hidden = wanted.length >= total;
    this.more.textContent = `Show ${Math.min(this.pageSize, total - wanted.length).toLocaleString()} more`;

    // Merge the shown rows into the wanted ones (both ascending): rows that stay are not
    // touched, so a focused checkbox keeps its focus.
    const focused = document.activeElement;
    let refocusAfter: number | null = null;
    const next: number[] = [];
    let current = 0;
    let cursor: ChildNode | null = this.body.firstChild;
    for (let index = 0; index <= wanted.length; index += 1) {
      const seat = wanted[index];
      while (current < this.shown.length && (seat === undefined || this.shown[current]! < seat)) {
        const gone = this.shown[current]!;
        const row = this.rows.get(gone)!;
        if (row.contains(focused)) refocusAfter = gone;
        if (cursor === row) cursor = row.nextSibling;
        row.remove();
        this.rows.delete(gone);
        current += 1;
      }
      if (seat === undefined) break;
      if (this.shown[current] === seat) {
        cursor = this.rows.get(seat)!.nextSibling;
        current += 1;
      } else {
        const row = this.rowFor(seat);
        this.rows.set(seat, row);
        this.body.insertBefore(row, cursor);
      }
      next.push(seat);
    }
    this.shown = next;
    if (refocusAfter !== null) {
      // The focused seat was taken: focus moves to the next seat rather than to the page.
      const following = next.find((seat) => seat > refocusAfter!) ?? next[next.length - 1];
      if (following !== undefined) checkboxOf(this.rows.get(following)!).focus();
    }
  }

  private matching(): { wanted: number[]; total: number } {
    const sectionIndex = Number(this.sectionFilter.value);
    const tierIndex = Number(this.priceFilter.value);
    const { statuses, tierOfSeat, kinds } = this.model;
    const accessibleOnly = this.accessibleFilter?.checked ?? false;
    const section = this.model.sections[sectionIndex];
    const start = section ? section.firstSeat : 0;
    const end = section ? section.firstSeat + section.seatCount : this.model.seatCount;
    const wanted: number[] = [];
    let total = 0;
    for (let seat = start; seat < end; seat += 1) {
      if (statuses[seat] !== 0 || (tierIndex >= 0 && tierOfSeat[seat] !== tierIndex)) continue;
      if (accessibleOnly && kinds[seat] === 0) continue;
      total += 1;
      if (wanted.length < this.limit) wanted.push(seat);
    }
    return { wanted, total };
  }

  private rowFor(seat: number): HTMLTableRowElement {
    const model = this.model;
    const row = document.createElement('tr');
    row.dataset.seatId = model.seatIds[seat]!;
    const box = document.createElement('input');
    box.type = 'checkbox';
    box.dataset.seat = String(seat);
    box.checked = this.selection.has(seat);
    box.disabled = !this.selectable;
    box.setAttribute('aria-label', seatLabel(model, seat));
    const tick = document.createElement('td');
    tick.append(box);
    row.append(tick);
    const kind = seatKindText[seatKindOf(model.kinds, seat)];
    for (const text of [
      model.sections[model.sectionOfSeat[seat]!]!.name,
      model.rowLabels[model.rowOfSeat[seat]!]!,
      kind ? `${model.numbers[seat]} (${kind})` : String(model.numbers[seat]),
      seatPrice(model, seat),
    ]) {
      const cell = document.createElement('td');
      cell.textContent = text;
      row.append(cell);
    }
    return row;
  }
}

function labelled(text: string, control: HTMLElement): HTMLLabelElement {
  const label = document.createElement('label');
  Object.assign(label.style, { display: 'flex', flexDirection: 'column', gap: '2px' });
  label.append(text, control);
  return label;
}

function checkboxOf(row: HTMLTableRowElement): HTMLInputElement {
  return row.querySelector('input')!;
}
