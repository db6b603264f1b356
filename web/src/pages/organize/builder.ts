// The event builder: a form that writes the POST /v1/events body from its parts (the event
// details, the price tiers, the seat map, the waiting room, the refund policy), with a live seat total and a
// preview of the seat map as buyers will see it. The server is the judge of the body: the
// form sends what it holds and shows the 400's field errors next to the fields they name.
import { append, h } from '../../dom.ts';
import type { PageContext } from '../../main.ts';
import type { CreateEventBody, FieldTargets } from './event-body.ts';
import { createEventDetails } from './event-details.ts';
import { createFieldErrors } from './field-errors.ts';
import { createPreview } from './preview.ts';
import { createPriceTiers } from './price-tiers.ts';
import { createRefundPolicyFields } from './refund-policy.ts';
import { createSeatMapEditor } from './seat-map-editor.ts';
import { createSubmit } from './submit.ts';
import { createWaitingRoomFields } from './waiting-room.ts';

export function createBuilder(context: PageContext, onCreated: () => void) {
  const form = h('form', {
    class: 'panel organize-builder',
    'data-testid': 'event-builder',
    'aria-labelledby': 'builder-title',
    // The server judges the body and names every field it refuses, next to the field.
    novalidate: true,
  });
  const details = createEventDetails();
  const priceTiers = createPriceTiers({ changed: () => changed(), tierSelects: () => seatMap.tierSelects() });
  const seatMap = createSeatMapEditor({ changed: () => changed(), fillTierSelect: priceTiers.fillTierSelect });
  const waitingRoom = createWaitingRoomFields();
  const refundPolicy = createRefundPolicyFields();
  const preview = createPreview();
  const errors = createFieldErrors(form);

  /** The body to send, and the control each field path of it came from (where its error goes). */
  const read = (status: 'draft' | 'published') => {
    const targets: FieldTargets = new Map();
    const { priceTiers: price_tiers, idOfKey } = priceTiers.read(targets);
    const seatSections = seatMap.read(targets, idOfKey);
    const event = details.read(targets);
    const body: CreateEventBody = {
      name: event.name,
      category: event.category,
      status,
      starts_at: event.starts_at,
      sale_opens_at: event.sale_opens_at,
      venue: event.venue,
      max_seats_per_user: event.max_seats_per_user,
      price_tiers,
      seat_map: { sections: seatSections },
    };
    if (event.description) body.description = event.description;
    const waitingRoomBody = waitingRoom.read(targets);
    if (waitingRoomBody) body.waiting_room = waitingRoomBody;
    const refundPolicyBody = refundPolicy.read(targets);
    if (refundPolicyBody) body.refund_policy = refundPolicyBody;
    targets.set('/seat_map', preview.total);
    return { body, targets };
  };

  const changed = () => {
    preview.showTotal(seatMap.seatTotal());
    seatMap.renumber();
    preview.showSoon(() => read('draft').body);
  };

  const submit = createSubmit(context, form, { read, preview, errors, onCreated });

  append(
    form,
    h('h2', { id: 'builder-title' }, 'New event'),
    h(
      'div',
      { class: 'organize-builder-grid' },
      h(
        'div',
        { class: 'organize-fields' },
        details.element,
        priceTiers.element,
        seatMap.element,
        waitingRoom.element,
        refundPolicy.element,
      ),
      h('div', { class: 'organize-side' }, preview.element, errors.element, submit.actions, submit.outcome),
    ),
  );

  form.addEventListener('input', (event) => {
    errors.clearControl(event.target as HTMLElement);
    changed();
  });
  form.addEventListener('change', changed);

  priceTiers.addTier('Standard', '50.00');
  seatMap.addSection();
  changed();

  return { element: form, destroy: preview.destroy };
}
