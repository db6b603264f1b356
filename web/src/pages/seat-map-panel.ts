// The seat map's panel as the event page and the organizer's Block seats page show it:
// the live status, the map, and the list of seats it can be swapped for.
import { h } from '../dom.ts';

export function createSeatMapPanel() {
  const live = h(
    'span',
    { class: 'hint', 'data-testid': 'live-status' },
    h('span', { class: 'live-dot' }),
    'connecting…',
  );
  const mapHost = h('div', { class: 'map-host', 'data-testid': 'seat-map' });
  const listHost = h('div', { class: 'list-host', hidden: true });
  const viewToggle = h('button', { type: 'button', 'aria-pressed': 'false' }, 'Show a list of available seats');
  viewToggle.addEventListener('click', () => {
    const showList = listHost.hidden;
    listHost.hidden = !showList;
    mapHost.hidden = showList;
    viewToggle.setAttribute('aria-pressed', String(showList));
    viewToggle.textContent = showList ? 'Show the seat map' : 'Show a list of available seats';
  });
  const element = h(
    'section',
    { class: 'panel map-panel', 'aria-label': 'Seats' },
    h('div', { class: 'map-toolbar' }, live, viewToggle),
    mapHost,
    listHost,
  );
  return { element, live, mapHost, listHost };
}
