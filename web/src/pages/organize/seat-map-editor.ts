// The builder's seat map: sections of rows, each row a label and a seat count. A generator
// (rows × seats per row, row label style) makes the rows, which can then be edited one by one;
// a section may be placed on the plan, else it is arranged facing the stage. Rows may name
// their wheelchair spaces and companion seats, and a section its rank for best available.
import type { Section } from '../../api.ts';
import { h, replace } from '../../dom.ts';
import { type FieldTargets, rowsPerSectionMax, seatsPerRowMax } from './event-body.ts';
import { field, fieldId, integerOf } from './fields.ts';

interface RowDraft {
  label: HTMLInputElement;
  seats: HTMLInputElement;
  wheelchair: HTMLInputElement;
  companion: HTMLInputElement;
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
  rank: HTMLInputElement;
  remove: HTMLButtonElement;
}

/** The most seat numbers a typed range gives: a row's seats at most. */
const seatNumbersMax = seatsPerRowMax;

/**
 * "1, 2, 5-7" -> [1, 2, 5, 6, 7]; empty -> []. A part that is not a number or a range gives
 * NaN (sent as null), so the service names the field that is wrong.
 */
export function seatNumbersOf(text: string): number[] {
  const numbers: number[] = [];
  for (const part of text.split(/[\s,;]+/).filter(Boolean)) {
    const range = /^(\d+)\s*[-–]\s*(\d+)$/.exec(part);
    if (range) {
      const [from, to] = [Number(range[1]), Number(range[2])];
      if (to < from || to - from >= seatNumbersMax) numbers.push(NaN);
      else for (let number = from; number <= to; number += 1) numbers.push(number);
    } else numbers.push(/^\d+$/.test(part) ? Number(part) : NaN);
  }
  return numbers;
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

/**
 * The seat map fieldset. changed: the form's content changed (a section was removed);
 * fillTierSelect: fills a section's tier chooser with the price tiers.
 */
export function createSeatMapEditor(parts: {
  changed: () => void;
  fillTierSelect: (select: HTMLSelectElement) => void;
}) {
  const sections: SectionDraft[] = [];
  const sectionList = h('div', { class: 'organize-sections' });
  const addSectionButton = h('button', { type: 'button', 'data-testid': 'add-section' }, 'Add section');

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
    const numbersInput = (name: string) =>
      h('input', {
        name,
        inputmode: 'numeric',
        placeholder: 'e.g. 1, 2',
        maxlength: 200,
        class: 'organize-row-numbers',
      });
    return {
      label: labelInput,
      seats: seatsInput,
      wheelchair: numbersInput('row-wheelchair'),
      companion: numbersInput('row-companion'),
    };
  };

  const renderRows = (section: SectionDraft) => {
    replace(
      section.rowList,
      ...section.rows.map((row, index) => {
        row.label.id ||= fieldId('organize');
        row.seats.id ||= fieldId('organize');
        row.wheelchair.id ||= fieldId('organize');
        row.companion.id ||= fieldId('organize');
        return h(
          'div',
          { class: 'organize-row' },
          h('label', { for: row.label.id }, `Row ${index + 1} label`),
          row.label,
          h('label', { for: row.seats.id }, 'seats'),
          row.seats,
          h('label', { for: row.wheelchair.id }, 'wheelchair spaces'),
          row.wheelchair,
          h('label', { for: row.companion.id }, 'companion seats'),
          row.companion,
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
    const rank = h('input', {
      type: 'number',
      name: 'section-rank',
      min: 1,
      max: 1_000,
      step: 1,
      class: 'organize-short',
      'data-testid': 'section-rank',
    });
    const rankEditor = h(
      'details',
      { class: 'organize-position' },
      h('summary', {}, 'Best available (optional)'),
      h(
        'p',
        { class: 'organize-hint' },
        'Buyers who ask for the best available are offered sections of a lower rank first; sections of one rank share their front rows. Without ranks: nearer the stage first when every section is placed, else in the order listed. Wheelchair spaces and companion seats (in each row, above) go only to buyers who ask for accessible seating.',
      ),
      h('div', { class: 'organize-inline' }, field('Rank', rank)),
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
      rankEditor,
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
      rank,
      remove,
    };
    parts.fillTierSelect(tierSelect);
    rowCount.addEventListener('input', () => generateRows(section, 'count'));
    seatsPerRow.addEventListener('input', () => generateRows(section, 'seats'));
    labelStyle.addEventListener('change', () => generateRows(section, 'labels'));
    remove.addEventListener('click', () => {
      sections.splice(sections.indexOf(section), 1);
      element.remove();
      parts.changed();
    });
    generateRows(section, 'count');
    sections.push(section);
    sectionList.append(element);
    return section;
  };

  const seatTotal = () => sections.reduce((sum, section) => sum + sectionSeats(section), 0);

  /** The sections to send, with their tier ids from idOfKey, and where their errors go. */
  const read = (targets: FieldTargets, idOfKey: Map<string, string>) => {
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
        targets.set(`${at}/rows/${rowIndex}/accessible`, row.wheelchair);
        targets.set(`${at}/rows/${rowIndex}/companion`, row.companion);
        const accessible = seatNumbersOf(row.wheelchair.value);
        const companion = seatNumbersOf(row.companion.value);
        return {
          label: row.label.value.trim(),
          seats: integerOf(row.seats),
          ...(accessible.length > 0 ? { accessible } : {}),
          ...(companion.length > 0 ? { companion } : {}),
        };
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
      if (section.rank.value.trim()) {
        targets.set(`${at}/rank`, section.rank);
        drawn.rank = integerOf(section.rank);
      }
      return drawn;
    });
    targets.set('/seat_map/sections', addSectionButton);
    return seatSections;
  };

  const element = h(
    'fieldset',
    { class: 'organize-map' },
    h('legend', {}, 'Seat map'),
    sectionList,
    h('div', { class: 'organize-inline' }, addSectionButton),
  );

  addSectionButton.addEventListener('click', () => {
    addSection().name.focus();
    parts.changed();
  });

  return {
    element,
    addSection,
    read,
    seatTotal,
    renumber: renumberSections,
    tierSelects: () => sections.map((section) => section.tier),
  };
}
