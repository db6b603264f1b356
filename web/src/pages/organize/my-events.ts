// The organizer's own events in every status; a draft is published from here, each one's
// refund policy and cancellation are under "Refunds and cancellation", and a published
// one's tickets are checked in from "Scan tickets".
import { api, describeError, query, type EventSummary } from '../../api.ts';
import { h } from '../../dom.ts';
import { dateTime } from '../../format.ts';
import type { PageContext } from '../../main.ts';
import { createEventAfterSale } from './event-after-sale.ts';
import { createWaitingRoomControls } from './waiting-room-controls.ts';

interface EventsPage {
  events: EventSummary[];
  next_cursor: string | null;
}

const myEventsPageSize = 50;

export function createMyEvents(context: PageContext, signal: AbortSignal) {
  const list = h('ul', { class: 'organize-events', 'data-testid': 'my-events', 'aria-live': 'polite' });
  const status = h('p', { class: 'hint' });
  const more = h('button', { type: 'button', hidden: true }, 'More events');
  let cursor: string | null = null;

  const publish = async (event: EventSummary, button: HTMLButtonElement) => {
    button.disabled = true;
    try {
      await api(`/v1/events/${encodeURIComponent(event.event_id)}`, {
        method: 'PATCH',
        body: { status: 'published' },
        signal,
      });
      context.notify(`“${event.name}” is published.`, 'success');
      await load(false);
    } catch (error) {
      if (signal.aborted) return;
      button.disabled = false;
      context.notify(`Could not publish “${event.name}”: ${describeError(error)}`, 'error');
    }
  };

  const item = (event: EventSummary) => {
    const publishButton =
      event.status === 'draft'
        ? h(
            'button',
            { type: 'button', class: 'primary', 'data-testid': 'publish-event', 'aria-label': `Publish ${event.name}` },
            'Publish',
          )
        : null;
    publishButton?.addEventListener('click', () => void publish(event, publishButton));
    const statusBadge = h(
      'span',
      { class: `organize-status organize-status-${event.status}`, 'data-testid': 'event-status' },
      event.status,
    );
    const afterSale = createEventAfterSale(context, event, signal, (status) => {
      entry.dataset.status = status;
      statusBadge.className = `organize-status organize-status-${status}`;
      statusBadge.textContent = status;
      publishButton?.remove();
    });
    const entry = h(
      'li',
      { class: 'organize-event', 'data-event-id': event.event_id, 'data-status': event.status },
      h(
        'div',
        { class: 'organize-event-head' },
        h(
          'a',
          { href: `/events/${encodeURIComponent(event.event_id)}`, 'data-link': true, class: 'event-name' },
          event.name,
        ),
        statusBadge,
      ),
      h('div', { class: 'event-meta' }, `${dateTime(event.starts_at)} · ${event.venue.name}, ${event.venue.city}`),
      h(
        'div',
        { class: 'organize-event-foot' },
        h('span', { class: 'event-meta', 'data-testid': 'seat-count' }, `${event.seat_count.toLocaleString()} seats`),
        publishButton,
        // Its door: tickets are checked in on the scanner page (pages/scan.ts).
        event.status === 'published'
          ? h(
              'a',
              {
                href: `/scan/${encodeURIComponent(event.event_id)}`,
                'data-link': true,
                class: 'organize-scan-link',
                'data-testid': 'scan-event-link',
              },
              'Scan tickets',
            )
          : null,
        // Its sale, live (pages/sale-stats.ts).
        event.status !== 'draft'
          ? h(
              'a',
              {
                href: `/organize/events/${encodeURIComponent(event.event_id)}/stats`,
                'data-link': true,
                class: 'organize-scan-link',
                'data-testid': 'sale-stats-link',
              },
              'Live sale',
            )
          : null,
        // Seats taken off sale (press, production, sponsors), chosen on its map (pages/seat-blocks.ts).
        event.status === 'published'
          ? h(
              'a',
              {
                href: `/organize/events/${encodeURIComponent(event.event_id)}/blocks`,
                'data-link': true,
                class: 'organize-scan-link',
                'data-testid': 'block-seats-link',
              },
              'Block seats',
            )
          : null,
      ),
      event.status === 'published' ? createWaitingRoomControls(event, signal) : null,
      afterSale,
    );
    return entry;
  };

  const load = async (append: boolean) => {
    status.textContent = 'Loading…';
    more.hidden = true;
    try {
      const page = await api<EventsPage>(
        `/v1/me/events${query({ sort: 'date', limit: myEventsPageSize, cursor: append ? cursor : null })}`,
        { signal },
      );
      if (!append) list.replaceChildren();
      for (const event of page.events) list.append(item(event));
      cursor = page.next_cursor;
      more.hidden = cursor === null;
      status.textContent = list.children.length === 0 ? 'No events yet: build your first one here.' : '';
    } catch (error) {
      if (signal.aborted) return;
      status.textContent = describeError(error);
    }
  };
  more.addEventListener('click', () => void load(true));

  const element = h(
    'section',
    { class: 'panel organize-my-events', 'aria-labelledby': 'my-events-title' },
    h('h2', { id: 'my-events-title' }, 'Your events'),
    status,
    list,
    more,
  );
  return { element, load };
}
