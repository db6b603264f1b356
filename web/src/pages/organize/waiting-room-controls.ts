// One of the organizer's events during its sale ("Waiting room", opened from Your events):
// the line's live controls. Pause stops admission at once and Resume starts it again (the
// line keeps its order); the rate and the door's proof-of-work check change the next
// admitter tick. Each is one PATCH { waiting_room }; the event as it then stands is shown.
import { api, describeError, type EventDetail, type EventSummary } from '../../api.ts';
import { h, replace } from '../../dom.ts';
import { field, fieldId } from './fields.ts';

export function createWaitingRoomControls(summary: EventSummary, signal: AbortSignal) {
  const body = h('div', { class: 'organize-after-sale-body' }, h('p', { class: 'hint' }, 'Loading…'));
  const details = h(
    'details',
    { class: 'organize-after-sale', 'data-testid': 'waiting-room-controls' },
    h('summary', {}, 'Waiting room'),
    body,
  );
  const url = `/v1/events/${encodeURIComponent(summary.event_id)}`;
  let loaded = false;
  details.addEventListener('toggle', () => {
    if (details.open && !loaded) {
      loaded = true;
      void load();
    }
  });

  const load = async () => {
    try {
      show(await api<EventDetail>(url, { signal }));
    } catch (error) {
      if (signal.aborted) return;
      loaded = false;
      replace(body, h('p', { class: 'form-error', role: 'alert' }, describeError(error)));
    }
  };

  const show = (event: EventDetail) => {
    const room = event.waiting_room;
    if (!room.enabled) {
      replace(body, h('p', { class: 'hint' }, 'This event sells without a waiting room.'));
      return;
    }
    const outcome = h('p', { class: 'organize-outcome', role: 'status', 'data-testid': 'waiting-room-outcome' });
    const change = async (settings: Partial<EventDetail['waiting_room']>, said: string, control: HTMLElement) => {
      control.setAttribute('disabled', '');
      try {
        const updated = await api<EventDetail>(url, {
          method: 'PATCH',
          body: { waiting_room: { enabled: true, ...settings } },
          signal,
        });
        show(updated);
        const next = body.querySelector<HTMLElement>('[data-testid="waiting-room-outcome"]');
        if (next) next.textContent = said;
      } catch (error) {
        if (signal.aborted) return;
        control.removeAttribute('disabled');
        outcome.textContent = `Not changed: ${describeError(error)}`;
      }
    };

    const state = h(
      'p',
      { 'data-testid': 'waiting-room-state' },
      room.paused ? 'Admission is paused: nobody is let in; the line keeps its order.' : 'Admission is running.',
    );
    const toggle = h(
      'button',
      { type: 'button', class: room.paused ? 'primary' : '', 'data-testid': 'waiting-room-toggle' },
      room.paused ? 'Resume admission' : 'Pause admission',
    );
    toggle.addEventListener(
      'click',
      () => void change({ paused: !room.paused }, room.paused ? 'Admission resumed.' : 'Admission paused.', toggle),
    );

    const rate = h('input', {
      type: 'number',
      name: 'live-admit-per-minute',
      min: 1,
      max: 1_000_000,
      step: 1,
      'data-testid': 'waiting-room-rate',
    });
    rate.value = String(room.admit_per_minute);
    const applyRate = h('button', { type: 'submit' }, 'Set rate');
    const rateForm = h(
      'form',
      { class: 'organize-inline', 'aria-label': `Admission rate of ${event.name}`, novalidate: true },
      field('Admit per minute', rate),
      applyRate,
    );
    rateForm.addEventListener('submit', (submitEvent) => {
      submitEvent.preventDefault();
      const value = Number(rate.value);
      if (!Number.isInteger(value) || value < 1 || value > 1_000_000) {
        outcome.textContent = 'The rate is a whole number of people a minute, from 1 to 1,000,000.';
        return;
      }
      void change({ admit_per_minute: value }, `Now admitting ${value.toLocaleString()} a minute.`, applyRate);
    });

    const challenge = h('input', {
      type: 'checkbox',
      id: fieldId('organize'),
      'data-testid': 'waiting-room-challenge',
    });
    challenge.checked = room.challenge;
    challenge.addEventListener(
      'change',
      () =>
        void change(
          { challenge: challenge.checked },
          challenge.checked ? 'New places in line now need a solved check.' : 'The check at the door is off.',
          challenge,
        ),
    );

    replace(
      body,
      state,
      h('div', { class: 'actions' }, toggle),
      rateForm,
      h(
        'label',
        { class: 'organize-check', for: challenge.id },
        challenge,
        ' Ask new arrivals for a proof-of-work check (slows scripts with many accounts)',
      ),
      outcome,
    );
  };

  return details;
}
