// The builder's waiting room: off by default; when on, buyers are admitted at a set rate
// when the sale opens.
import { h } from '../../dom.ts';
import type { FieldTargets } from './event-body.ts';
import { field, fieldId, integerOf } from './fields.ts';

export function createWaitingRoomFields() {
  const waitingRoomOn = h('input', { type: 'checkbox', name: 'waiting-room', id: fieldId('organize') });
  const admitPerMinute = h('input', { type: 'number', name: 'admit-per-minute', min: 1, max: 1_000_000, step: 1 });
  admitPerMinute.value = '600';
  admitPerMinute.disabled = true;

  /** The waiting room to send, none when it is off, and where its errors go. */
  const read = (targets: FieldTargets) => {
    targets.set('/waiting_room', waitingRoomOn);
    targets.set('/waiting_room/admit_per_minute', admitPerMinute);
    return waitingRoomOn.checked ? { enabled: true, admit_per_minute: integerOf(admitPerMinute) } : undefined;
  };

  const element = h(
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

  waitingRoomOn.addEventListener('change', () => (admitPerMinute.disabled = !waitingRoomOn.checked));

  return { element, read };
}
