// The organizer takes seats off sale (/organize/events/{id}/blocks): seats chosen on the
// live seat map (the buyers' component and its selection, or its list of seats), a label
// ("press", "camera platform"), and POST …/blocks; the blocks in force are listed with a
// Release each (pages/organize/block-list.ts). Buyers' maps show the seats "not for sale"
// at once, through the same live stream that brings them here.
import './organize.css';
import { createSeatMapPanel } from './seat-map-panel.ts';
import './seat-blocks.css';
import { api, ApiError, describeError, type EventDetail } from '../api.ts';
import { h, replace } from '../dom.ts';
import { dateTime } from '../format.ts';
import type { PageContext } from '../main.ts';
import { seatLabel, seatRuns } from '../seat-labels.ts';
import type { AvailabilityDocument } from '../seat-map/model.ts';
import { seatColors } from '../seat-map/palette.ts';
import { hasAccessibleSeating } from '../seat-map/seat-kinds.ts';
import { legendSymbol } from '../seat-map/seat-symbols.ts';
import { openSeatMap, type SeatMapHandle } from './event-seat-map.ts';
import { createBlockList } from './organize/block-list.ts';

/** The most seats one block takes (the service's seatsPerBlockMax). */
const seatsPerBlockMax = 5_000;
const labelLengthMax = 100;

export async function renderSeatBlocks(context: PageContext) {
  if (!context.requireSignIn()) return;
  const eventId = context.params.eventId!;
  context.setTitle('Block seats');
  const controller = new AbortController();
  let event: EventDetail;
  try {
    event = await api<EventDetail>(`/v1/events/${encodeURIComponent(eventId)}`, { signal: controller.signal });
  } catch (error) {
    replace(
      context.root,
      h('div', { class: 'panel', role: 'alert' }, h('h1', {}, 'Block seats'), h('p', {}, describeError(error))),
    );
    return;
  }
  context.setTitle(`Block seats · ${event.name}`);

  let map: SeatMapHandle | null = null;
  const describe = (seatId: string) => map?.describe(seatId) ?? { section: '?', row: '?', number: 0 };
  const chosen = h('ul', { class: 'seat-chips', 'data-testid': 'block-selection' });
  const label = h('input', {
    type: 'text',
    id: 'block-label',
    maxlength: labelLengthMax,
    autocomplete: 'off',
    placeholder: 'Press, camera platform, sponsor…',
    'data-testid': 'block-label-input',
  });
  const blockButton = h(
    'button',
    { type: 'submit', class: 'primary', disabled: true, 'data-testid': 'block-seats' },
    'Block seats',
  );
  const clear = h('button', { type: 'button', disabled: true }, 'Clear selection');
  const outcome = h('p', { class: 'organize-outcome', role: 'status', 'data-testid': 'block-outcome' });
  const problem = h('p', { class: 'form-error', role: 'alert', 'data-testid': 'block-error' });
  const counts = h('p', { class: 'hint', 'data-testid': 'seat-counts' });
  const mapPanel = createSeatMapPanel();
  const { live, mapHost, listHost } = mapPanel;

  const blocks = createBlockList({
    eventId,
    signal: controller.signal,
    describe,
    onReleased: (said) => {
      problem.textContent = '';
      outcome.textContent = said;
    },
  });

  const ready = () => {
    blockButton.disabled = !map || map.selected().length === 0 || label.value.trim() === '';
  };
  const showChosen = (seatIds: string[]) => {
    const lines = seatRuns(seatIds.map(describe));
    replace(
      chosen,
      lines.length === 0
        ? h('li', { class: 'empty' }, 'Click seats on the map to choose them.')
        : lines.map((line) => h('li', {}, line)),
    );
    clear.disabled = seatIds.length === 0;
    blockButton.textContent =
      seatIds.length === 0 ? 'Block seats' : `Block ${seatIds.length} seat${seatIds.length === 1 ? '' : 's'}`;
    ready();
  };
  label.addEventListener('input', ready);
  clear.addEventListener('click', () => map?.clearSelection());

  const form = h(
    'form',
    { class: 'seat-block-form', 'aria-label': 'Block the chosen seats', novalidate: true },
    h('h2', {}, 'Take seats off sale'),
    h(
      'p',
      { class: 'hint' },
      'Choose seats on the map (or in the list), name why, and block them: buyers see them as not for sale at once. ' +
        'Release a block below to put its seats back on sale.',
    ),
    h('h3', {}, 'Chosen seats'),
    chosen,
    h('div', { class: 'field' }, h('label', { for: label.id }, 'Label'), label),
    h('div', { class: 'actions' }, blockButton, clear),
    outcome,
    problem,
  );
  form.addEventListener('submit', async (submitEvent) => {
    submitEvent.preventDefault();
    if (!map) return;
    const seatIds = map.selected();
    const text = label.value.trim();
    outcome.textContent = '';
    problem.textContent = '';
    if (seatIds.length === 0 || text === '') {
      problem.textContent = seatIds.length === 0 ? 'Choose seats on the map first.' : 'Give the block a label.';
      return;
    }
    blockButton.disabled = true;
    try {
      await api(`/v1/events/${encodeURIComponent(eventId)}/blocks`, {
        method: 'POST',
        body: { seat_ids: seatIds, label: text },
        signal: controller.signal,
      });
      map.clearSelection();
      label.value = '';
      outcome.textContent = `Blocked ${seatIds.length} seat${seatIds.length === 1 ? '' : 's'} for “${text}”.`;
      await blocks.load();
    } catch (error) {
      if (controller.signal.aborted) return;
      if (error instanceof ApiError && error.code === 'SEAT_UNAVAILABLE') {
        const taken = (error.problem.conflicting_seat_ids ?? []).map((seatId) => seatLabel(describe(seatId)));
        problem.textContent = `Nothing was blocked: ${taken.join('; ')} ${taken.length === 1 ? 'is' : 'are'} held, sold or blocked already. Choose other seats.`;
      } else problem.textContent = `Nothing was blocked: ${describeError(error)}`;
    } finally {
      ready();
    }
  });

  replace(
    context.root,
    h(
      'header',
      { class: 'event-header' },
      h('p', {}, h('a', { href: '/organize', 'data-link': true }, '← Your events')),
      h('h1', {}, `Block seats · ${event.name}`),
      h('p', { class: 'event-meta' }, `${dateTime(event.starts_at)} · ${event.venue.name}, ${event.venue.city}`),
    ),
    h(
      'div',
      { class: 'event-layout seat-block-layout' },
      mapPanel.element,
      h(
        'aside',
        { class: 'panel selection-panel', 'aria-label': 'Blocks' },
        form,
        h(
          'ul',
          { class: 'legend', 'aria-label': 'What the map shows' },
          h('li', {}, swatch(seatColors.selected), 'Chosen'),
          h('li', {}, legendSymbol('blocked'), 'Not for sale (blocked)'),
          h('li', {}, swatch(seatColors.held), 'Held'),
          h('li', {}, swatch(seatColors.booked), 'Sold'),
          hasAccessibleSeating(event.sections)
            ? [
                h('li', {}, legendSymbol('accessible'), 'Wheelchair space'),
                h('li', {}, legendSymbol('companion'), 'Companion seat'),
              ]
            : null,
        ),
        counts,
        blocks.element,
      ),
    ),
  );

  counts.textContent = `${event.counts.available.toLocaleString()} of ${event.seat_count.toLocaleString()} seats on sale and free`;
  try {
    map = await openSeatMap({
      event,
      availability: api<AvailabilityDocument>(`/v1/events/${encodeURIComponent(eventId)}/availability`, {
        signal: controller.signal,
      }),
      mapHost,
      listHost,
      selectable: event.status !== 'cancelled',
      maxSelectable: seatsPerBlockMax,
      onSelectionChange: showChosen,
      onSelectionLost: (lost) => {
        const names = lost.map((seatId) => seatLabel(describe(seatId))).join('; ');
        context.notify(`${names}: just held or sold, removed from your choice.`, 'info');
      },
      onLimit: () => context.notify(`A block takes up to ${seatsPerBlockMax.toLocaleString()} seats.`, 'info'),
      onAvailableCount: (available) =>
        (counts.textContent = `${available.toLocaleString()} of ${event.seat_count.toLocaleString()} seats on sale and free`),
      onLive: (connected) => {
        replace(live, h('span', { class: `live-dot${connected ? ' on' : ''}` }), connected ? 'live' : 'reconnecting…');
      },
    });
  } catch (error) {
    replace(
      mapHost,
      h('p', { class: 'form-error', role: 'alert' }, `The seat map did not load: ${describeError(error)}`),
    );
  }
  showChosen([]);
  await blocks.load();
  return () => {
    controller.abort();
    map?.close();
  };
}

function swatch(color: string) {
  return h('span', { class: 'swatch', style: `background:${color}`, 'aria-hidden': 'true' });
}
