// Releasing a hold at checkout: a quiet link beside Pay that asks first, in a modal dialog
// (issue 22: "Release these seats" looked as prominent as Pay and released at once). Keeping
// the seats is the default answer (focused first, and what Escape does).
import './release-hold.css';
import { h } from '../dom.ts';

export interface ReleaseControl {
  /** The link-like button that opens the question. */
  button: HTMLButtonElement;
  /** The dialog; put it anywhere in the page. */
  dialog: HTMLDialogElement;
}

export function createReleaseControl(options: { seatCount: number; release(): Promise<void> }): ReleaseControl {
  const button = h(
    'button',
    { type: 'button', class: 'link-button release-button', 'data-testid': 'release' },
    'Release these seats',
  );
  const keep = h(
    'button',
    { type: 'button', class: 'primary', autofocus: true, 'data-testid': 'keep-seats' },
    'Keep my seats',
  );
  const confirm = h('button', { type: 'button', class: 'danger', 'data-testid': 'confirm-release' }, 'Release seats');
  const dialog = h(
    'dialog',
    { class: 'release-dialog', 'aria-labelledby': 'release-title', 'aria-describedby': 'release-detail' },
    h('h2', { id: 'release-title' }, 'Release your seats?'),
    h(
      'p',
      { id: 'release-detail' },
      options.seatCount === 1
        ? 'Your seat goes back on sale at once, and another buyer may take it. This cannot be undone.'
        : `Your ${options.seatCount} seats go back on sale at once, and another buyer may take them. This cannot be undone.`,
    ),
    h('div', { class: 'actions' }, keep, confirm),
  );
  button.addEventListener('click', () => dialog.showModal());
  keep.addEventListener('click', () => dialog.close());
  confirm.addEventListener('click', async () => {
    confirm.disabled = true;
    keep.disabled = true;
    try {
      await options.release();
    } finally {
      confirm.disabled = false;
      keep.disabled = false;
      dialog.close();
    }
  });
  return { button, dialog };
}
