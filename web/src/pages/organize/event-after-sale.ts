// One of the organizer's events after the sale ("Refunds and cancellation", opened from
// Your events): its refund policy, changed with a PATCH; cancelling it, after a
// confirmation; and then the progress of the job that refunds every booking, polled until
// it is done.
import { api, describeError, type EventCancellation, type EventDetail, type EventSummary } from '../../api.ts';
import { h, replace } from '../../dom.ts';
import { dateTime } from '../../format.ts';
import type { PageContext } from '../../main.ts';
import { createFieldErrors } from './field-errors.ts';
import type { FieldTargets } from './event-body.ts';
import { createRefundPolicyFields } from './refund-policy.ts';

/** How often the cancellation's progress is looked at, and for how long before the organizer is asked to look again. */
const progressPollIntervalMs = 1_000;
const progressPollsMax = 300;

export function createEventAfterSale(
  context: PageContext,
  summary: EventSummary,
  signal: AbortSignal,
  /** The event's status changed (its badge in the list follows). */
  statusChanged: (status: EventSummary['status']) => void,
) {
  const body = h('div', { class: 'organize-after-sale-body' }, h('p', { class: 'hint' }, 'Loading…'));
  const details = h(
    'details',
    { class: 'organize-after-sale', 'data-testid': 'after-sale' },
    h('summary', {}, 'Refunds and cancellation'),
    body,
  );
  let loaded = false;
  details.addEventListener('toggle', () => {
    if (details.open && !loaded) {
      loaded = true;
      void load();
    }
  });

  const load = async () => {
    let event: EventDetail;
    try {
      event = await api<EventDetail>(`/v1/events/${encodeURIComponent(summary.event_id)}`, { signal });
    } catch (error) {
      if (signal.aborted) return;
      loaded = false;
      replace(body, h('p', { class: 'form-error', role: 'alert' }, describeError(error)));
      return;
    }
    // A cancelled event has nothing left to set: its refunds' progress.
    if (event.status === 'cancelled') replace(body, progress());
    else replace(body, policyForm(event), cancelPart(event));
  };

  /** The refund policy as it is, changed with PATCH { refund_policy }. */
  const policyForm = (event: EventDetail) => {
    const fields = createRefundPolicyFields(event.refund_policy);
    const save = h('button', { type: 'submit', 'data-testid': 'save-refund-policy' }, 'Save refund policy');
    const outcome = h('p', { class: 'organize-outcome', role: 'status' });
    const form = h(
      'form',
      { class: 'organize-policy-form', 'aria-label': `Refund policy of ${event.name}`, novalidate: true },
      fields.element,
    );
    const errors = createFieldErrors(form, 'The refund policy was not saved:');
    form.append(errors.element, h('div', { class: 'actions' }, save), outcome);
    form.addEventListener('input', (inputEvent) => errors.clearControl(inputEvent.target as HTMLElement));
    form.addEventListener('submit', async (submitEvent) => {
      submitEvent.preventDefault();
      errors.clear();
      outcome.textContent = '';
      const targets: FieldTargets = new Map();
      const refundPolicy = fields.read(targets);
      save.disabled = true;
      try {
        const updated = await api<EventDetail>(`/v1/events/${encodeURIComponent(event.event_id)}`, {
          method: 'PATCH',
          body: { refund_policy: refundPolicy },
          signal,
        });
        fields.set(updated.refund_policy);
        outcome.textContent = updated.refund_policy
          ? `Saved: buyers may cancel until ${updated.refund_policy.buyer_cancel_until_hours} hours before the start, ` +
            `with a ${updated.refund_policy.fee_percent}% fee.`
          : 'Saved: buyers cannot cancel.';
      } catch (error) {
        if (signal.aborted) return;
        // The field errors name the same paths as the builder's (/refund_policy/…).
        errors.show(error, { refund_policy: refundPolicy }, targets);
      } finally {
        save.disabled = false;
      }
    });
    return form;
  };

  /** "Cancel event", then a confirmation that says what it does, then the progress. */
  const cancelPart = (event: EventDetail) => {
    const part = h('div', { class: 'organize-cancel' });
    const start = h('button', { type: 'button', class: 'danger', 'data-testid': 'cancel-event' }, 'Cancel event…');
    const showStart = () => replace(part, start);
    start.addEventListener('click', () => {
      const yes = h(
        'button',
        { type: 'button', class: 'danger', 'data-testid': 'confirm-cancel-event' },
        'Yes, cancel the event',
      );
      const no = h('button', { type: 'button' }, 'Keep it');
      const error = h('p', { class: 'form-error', role: 'alert' });
      const titleId = `cancel-event-title-${event.event_id}`;
      replace(
        part,
        h(
          'div',
          { class: 'organize-confirm', role: 'group', 'aria-labelledby': titleId },
          h('p', { id: titleId, class: 'organize-confirm-title' }, `Cancel “${event.name}”?`),
          h(
            'p',
            {},
            'Its sale stops, every hold ends and every booking is refunded in full; buyers are told by email. ' +
              'This cannot be undone.',
          ),
          h('div', { class: 'actions' }, yes, no),
          error,
        ),
      );
      no.addEventListener('click', () => {
        showStart();
        start.focus();
      });
      yes.addEventListener('click', async () => {
        yes.disabled = no.disabled = true;
        try {
          await api(`/v1/events/${encodeURIComponent(event.event_id)}`, {
            method: 'PATCH',
            body: { status: 'cancelled' },
            signal,
          });
        } catch (failure) {
          if (signal.aborted) return;
          yes.disabled = no.disabled = false;
          error.textContent = describeError(failure);
          return;
        }
        context.notify(`“${event.name}” is cancelled: its bookings are being refunded.`, 'success');
        statusChanged('cancelled');
        part.replaceWith(progress());
      });
      yes.focus();
    });
    showStart();
    return part;
  };

  /** The cancellation job's progress, polled every second (bounded) until it is done. */
  const progress = () => {
    const bar = h('progress', { max: 1, value: 0, 'aria-labelledby': `progress-title-${summary.event_id}` });
    const headline = h('p', { class: 'organize-progress-title', id: `progress-title-${summary.event_id}` });
    const figures = h('dl', { class: 'organize-progress-figures' });
    const note = h('p', { class: 'hint' });
    const part = h(
      'div',
      { class: 'organize-progress', role: 'status', 'data-testid': 'cancellation-progress', 'data-status': 'running' },
      headline,
      bar,
      figures,
      note,
    );
    let polls = 0;
    let timer: number | undefined;
    signal.addEventListener('abort', () => window.clearTimeout(timer));

    const show = (state: EventCancellation) => {
      part.dataset.status = state.status;
      const total = state.bookings ?? 0;
      bar.max = Math.max(total, 1);
      bar.value = state.status === 'done' && total === 0 ? 1 : state.refunded;
      headline.textContent =
        state.status === 'done'
          ? `Done: ${state.refunded} of ${total} ${total === 1 ? 'booking' : 'bookings'} refunded.`
          : state.bookings === null
            ? 'Cancelling: starting the refunds…'
            : `Cancelling: refunding ${total} ${total === 1 ? 'booking' : 'bookings'}…`;
      replace(
        figures,
        h('div', {}, h('dt', {}, 'Bookings'), h('dd', { 'data-testid': 'progress-bookings' }, state.bookings ?? '…')),
        h('div', {}, h('dt', {}, 'Refunded'), h('dd', { 'data-testid': 'progress-refunded' }, state.refunded)),
        h('div', {}, h('dt', {}, 'Failed'), h('dd', { 'data-testid': 'progress-failed' }, state.failed)),
      );
      note.textContent =
        state.status === 'done' && state.finished_at
          ? `Finished ${dateTime(state.finished_at)}.`
          : state.failed > 0
            ? 'The payment provider refused some refunds: they are tried again.'
            : '';
    };

    const poll = async () => {
      polls += 1;
      try {
        const state = await api<EventCancellation>(`/v1/events/${encodeURIComponent(summary.event_id)}/cancellation`, {
          signal,
        });
        show(state);
        if (state.status === 'done') return;
      } catch (error) {
        if (signal.aborted) return;
        note.textContent = `${describeError(error)} Trying again…`;
      }
      if (signal.aborted) return;
      if (polls < progressPollsMax) {
        timer = window.setTimeout(() => void poll(), progressPollIntervalMs);
        return;
      }
      const again = h('button', { type: 'button' }, 'Check again');
      again.addEventListener('click', () => {
        polls = 0;
        void poll();
      });
      replace(note, 'Still running. ', again);
    };
    headline.textContent = 'Cancelling…';
    void poll();
    return part;
  };

  return details;
}
