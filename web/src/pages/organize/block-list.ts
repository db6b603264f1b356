// The organizer's blocks in force on one event (GET …/blocks), each with its label, its
// seats and a Release button (DELETE …/blocks/{id}: the seats go back on sale at once).
import { api, describeError } from '../../api.ts';
import { h, replace } from '../../dom.ts';
import { dateTime } from '../../format.ts';
import { seatRuns } from '../../seat-labels.ts';

export interface SeatBlock {
  block_id: string;
  event_id: string;
  label: string;
  seat_ids: string[];
  created_at: string;
}

export interface BlockListOptions {
  eventId: string;
  signal: AbortSignal;
  /** Section, row and number of a seat id, from the map. */
  describe(seatId: string): { section: string; row: string; number: number };
  /** After a release, with what to tell the organizer. */
  onReleased(said: string): void;
}

/** Lines of seat runs shown per block before "and N more rows". */
const runLinesShownMax = 4;

export function createBlockList(options: BlockListOptions) {
  const path = `/v1/events/${encodeURIComponent(options.eventId)}/blocks`;
  const list = h('ul', { class: 'seat-block-list', 'data-testid': 'seat-blocks' });
  const status = h('p', { class: 'hint', 'data-testid': 'seat-blocks-status' }, 'Loading…');
  const error = h('p', { class: 'form-error', role: 'alert' });

  const release = async (block: SeatBlock, button: HTMLButtonElement) => {
    button.disabled = true;
    error.textContent = '';
    try {
      await api(`${path}/${encodeURIComponent(block.block_id)}`, { method: 'DELETE', signal: options.signal });
      const seats = block.seat_ids.length;
      options.onReleased(`Released “${block.label}”: ${seats} seat${seats === 1 ? ' is' : 's are'} on sale again.`);
      await load();
    } catch (caught) {
      if (options.signal.aborted) return;
      button.disabled = false;
      error.textContent = `“${block.label}” was not released: ${describeError(caught)}`;
    }
  };

  const item = (block: SeatBlock) => {
    const lines = seatRuns(block.seat_ids.map((seatId) => options.describe(seatId)));
    const shown = lines.slice(0, runLinesShownMax);
    if (lines.length > shown.length) shown.push(`and ${lines.length - shown.length} more rows`);
    const seats = block.seat_ids.length;
    const button = h(
      'button',
      { type: 'button', 'data-testid': 'release-block', 'aria-label': `Release ${block.label}` },
      'Release',
    );
    button.addEventListener('click', () => void release(block, button));
    return h(
      'li',
      { class: 'seat-block', 'data-block-id': block.block_id },
      h(
        'div',
        { class: 'seat-block-head' },
        h('strong', { 'data-testid': 'block-label' }, block.label),
        h(
          'span',
          { class: 'seat-block-count', 'data-testid': 'block-seat-count' },
          `${seats} seat${seats === 1 ? '' : 's'}`,
        ),
      ),
      h('ul', { class: 'seat-block-seats' }, ...shown.map((line) => h('li', {}, line))),
      h(
        'div',
        { class: 'seat-block-foot' },
        h('span', { class: 'hint' }, `Since ${dateTime(block.created_at)}`),
        button,
      ),
    );
  };

  const load = async () => {
    try {
      const answer = await api<{ blocks: SeatBlock[] }>(path, { signal: options.signal });
      replace(list, ...answer.blocks.map(item));
      status.textContent = answer.blocks.length === 0 ? 'No seats are blocked: every seat is on sale.' : '';
    } catch (caught) {
      if (options.signal.aborted) return;
      status.textContent = '';
      error.textContent = `The blocks could not be loaded: ${describeError(caught)}`;
    }
  };

  const element = h(
    'section',
    { class: 'seat-block-section', 'aria-labelledby': 'seat-blocks-title' },
    h('h2', { id: 'seat-blocks-title' }, 'Blocked now'),
    status,
    list,
    error,
  );
  return { element, load };
}
