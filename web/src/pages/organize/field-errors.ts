// The server's 400 for a POST (or PATCH) /v1/events body, shown to a person: each field error once in
// the alert list (a button that goes to the field) and once next to the field it names.
import { ApiError, describeError } from '../../api.ts';
import { h, replace } from '../../dom.ts';
import type { CreateEventBody, FieldTargets } from './event-body.ts';
import { fieldId } from './fields.ts';

interface FieldError {
  path: string;
  message: string;
}

const sectionFields: Record<string, string> = { name: 'name', price_tier: 'price tier', rows: 'rows', rank: 'rank' };
const rowFields: Record<string, string> = {
  label: 'label',
  seats: 'seats',
  accessible: 'wheelchair spaces',
  companion: 'companion seats',
};
const tierFields: Record<string, string> = {
  id: 'id (from the name)',
  name: 'name',
  price_cents: 'price',
  currency: 'currency',
};
const eventFields: Record<string, string> = {
  '': 'Event',
  name: 'Event name',
  category: 'Category',
  description: 'Description',
  venue: 'Venue',
  'venue/name': 'Venue name',
  'venue/city': 'City',
  starts_at: 'Starts at',
  sale_opens_at: 'Sale opens at',
  max_seats_per_user: 'Max seats per user',
  price_tiers: 'Price tiers',
  seat_map: 'Seat map',
  'seat_map/sections': 'Sections',
  waiting_room: 'Waiting room',
  'waiting_room/enabled': 'Waiting room',
  'waiting_room/admit_per_minute': 'Waiting room: admit per minute',
  refund_policy: 'Refund policy',
  'refund_policy/buyer_cancel_until_hours': 'Refund policy: hours before the start',
  'refund_policy/fee_percent': 'Refund policy: cancellation fee',
};

/** The schema validator's wording where a person would say it differently. */
function readableMessage(message: string): string {
  if (message === 'must NOT have fewer than 1 characters') return 'is required';
  if (message === 'must be integer') return 'must be a whole number';
  return message
    .replace(/^must match format "date-time"$/, 'must be a date and time')
    .replace(/^must be >= /, 'must be at least ')
    .replace(/^must be <= /, 'must be at most ')
    .replace(/^must NOT have fewer than 1 items$/, 'needs at least one');
}

const quoted = (text: string | undefined) => (text ? ` “${text}”` : '');

/** "/seat_map/sections/0/rows/1/seats" -> "Section 1 “Floor”, row 2 “B”: seats", named from the body sent. */
function readablePath(path: string, body: Partial<CreateEventBody>): string {
  const section = /^\/seat_map\/sections\/(\d+)(?:\/(.*))?$/.exec(path);
  if (section) {
    const index = Number(section[1]);
    const sent = body.seat_map?.sections[index];
    let text = `Section ${index + 1}${quoted(sent?.name)}`;
    const rest = section[2] ?? '';
    const row = /^rows\/(\d+)(?:\/(.*))?$/.exec(rest);
    if (row) {
      const rowIndex = Number(row[1]);
      text += `, row ${rowIndex + 1}${quoted(sent?.rows[rowIndex]?.label)}`;
      const field = row[2]?.replace(/\/\d+$/, '');
      if (field) text += `: ${rowFields[field] ?? field}`;
    } else if (rest.startsWith('position')) {
      text += `: position${rest.slice('position'.length).replace(/\//g, ' ')}`;
    } else if (rest) {
      text += `: ${sectionFields[rest] ?? rest}`;
    }
    return text;
  }
  const tier = /^\/price_tiers\/(\d+)(?:\/(.*))?$/.exec(path);
  if (tier) {
    const index = Number(tier[1]);
    const rest = tier[2] ?? '';
    const text = `Price tier ${index + 1}${quoted(body.price_tiers?.[index]?.name)}`;
    return rest ? `${text}: ${tierFields[rest] ?? rest}` : text;
  }
  return eventFields[path.replace(/^\//, '')] ?? path;
}

/** The alert box of a form's failed submit, and the messages it puts next to the form's fields. */
export function createFieldErrors(form: HTMLFormElement, title = 'The event was not created:') {
  const errorList = h('ul', { class: 'organize-errors' });
  const errorBox = h(
    'div',
    { class: 'organize-error-box', role: 'alert', 'data-testid': 'builder-errors', hidden: true },
    h('p', { class: 'organize-error-title' }, title),
    errorList,
  );

  const clear = () => {
    errorBox.hidden = true;
    errorList.replaceChildren();
    form.querySelectorAll('.organize-field-error').forEach((message) => message.remove());
    form.querySelectorAll('[aria-invalid]').forEach((control) => {
      control.removeAttribute('aria-invalid');
      control.removeAttribute('aria-describedby');
    });
  };

  /** A control being edited loses its error: the person is fixing it. */
  const clearControl = (control: HTMLElement) => {
    if (control.getAttribute('aria-invalid')) {
      control.removeAttribute('aria-invalid');
      const message = document.getElementById(control.getAttribute('aria-describedby') ?? '');
      if (message?.classList.contains('organize-field-error')) message.remove();
      control.removeAttribute('aria-describedby');
    }
  };

  /** Each error once in the alert list (a button that goes to the field) and once next to its field. */
  const showErrors = (errors: FieldError[], body: Partial<CreateEventBody>, targets: FieldTargets) => {
    errorBox.hidden = false;
    for (const error of errors) {
      let control: HTMLElement | undefined;
      for (let path = error.path; path && !control; path = path.slice(0, Math.max(0, path.lastIndexOf('/')))) {
        control = targets.get(path);
      }
      const text = `${readablePath(error.path, body)}: ${readableMessage(error.message)}`;
      const entry = h('li', {}, text);
      if (control) {
        const target = control;
        for (let parent = target.parentElement; parent; parent = parent.parentElement) {
          if (parent instanceof HTMLDetailsElement) parent.open = true;
        }
        const message = h('p', { class: 'organize-field-error', id: fieldId('organize-error') }, text);
        const fieldBox = target.closest('.field');
        if (fieldBox) fieldBox.append(message);
        else
          (target.closest('.organize-row') ?? target.parentElement ?? target).insertAdjacentElement(
            'afterend',
            message,
          );
        target.setAttribute('aria-invalid', 'true');
        target.setAttribute('aria-describedby', message.id);
        replace(entry, h('button', { type: 'button', class: 'link-button', onclick: () => target.focus() }, text));
      }
      errorList.append(entry);
    }
  };

  /** Why the body sent was refused: its field errors where the server named fields, else the error. */
  const show = (error: unknown, body: Partial<CreateEventBody>, targets: FieldTargets) => {
    const fieldErrors = error instanceof ApiError ? (error.problem.errors ?? []) : [];
    if (fieldErrors.length > 0) {
      showErrors(fieldErrors, body, targets);
      if (error instanceof ApiError && (error.problem as { errors_not_shown?: number }).errors_not_shown) {
        errorList.append(h('li', {}, `and ${(error.problem as { errors_not_shown?: number }).errors_not_shown} more`));
      }
    } else {
      errorBox.hidden = false;
      replace(errorList, h('li', {}, describeError(error)));
    }
    errorBox.scrollIntoView({ block: 'nearest' });
  };

  return { element: errorBox, clear, clearControl, show };
}
