// The organizer's page: their events in every status (publish a draft from here; set its
// refund policy or cancel it under "Refunds and cancellation"), refunding a booking, and the
// event builder (pages/organize/builder.ts), a form that writes the POST /v1/events body with
// a live seat total and a preview of the seat map as buyers will see it.
import './organize.css';
import { h, replace } from '../dom.ts';
import type { PageContext } from '../main.ts';
import { currentSession } from '../session.ts';
import { createBuilder } from './organize/builder.ts';
import { createMyEvents } from './organize/my-events.ts';
import { createRefundBooking } from './organize/refund-booking.ts';

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
        h(
          'p',
          {},
          `You are signed in as ${session.userId}, ${session.role === 'staff' ? 'door staff' : 'a buyer'}. ` +
            'Only organizers can create events.',
        ),
        h('p', {}, h('a', { href: '/login?next=/organize', 'data-link': true }, 'Sign in as an organizer')),
      ),
    );
    return;
  }

  const controller = new AbortController();
  const myEvents = createMyEvents(context, controller.signal);
  const refundBooking = createRefundBooking(context, controller.signal);
  const builder = createBuilder(context, () => void myEvents.load(false));
  replace(
    context.root,
    h('h1', {}, 'Organize'),
    h('div', { class: 'organize-layout' }, myEvents.element, refundBooking.element, builder.element),
  );
  void myEvents.load(false);
  return () => {
    controller.abort();
    builder.destroy();
  };
}
