// Form controls as the builder lays them out and reads them.
import { h } from '../../dom.ts';

let nextFieldId = 0;
export const fieldId = (prefix: string) => `${prefix}-${++nextFieldId}`;

/** A labelled control; the label names it for assistive technology too. */
export function field(
  label: string,
  control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
  hint?: string,
) {
  if (!control.id) control.id = fieldId('organize');
  return h(
    'div',
    { class: 'field' },
    h('label', { for: control.id }, label),
    control,
    hint ? h('span', { class: 'organize-hint' }, hint) : null,
  );
}

/** A whole number typed in an input, or NaN (sent as null, so the server names the field). */
export function integerOf(input: HTMLInputElement): number {
  const value = input.value.trim();
  return value === '' ? NaN : Number(value);
}
