// The hold banner, under the top bar on every page: the buyer's hold still running, its
// countdown and the way back to its checkout (issue 22: a buyer who left checkout lost their
// hold from view for up to its whole ten minutes). Looked up again at each navigation and,
// while a hold is shown, every pollIntervalMs (a hold paid or released in another tab goes);
// nothing is asked while there is none. A hold is taken off at its expires_at: the banner
// never says "0:00".
import './hold-banner.css';
import { h, replace } from './dom.ts';
import { countdown } from './format.ts';
import { checkoutPath, loadActiveHolds, type MyReservation } from './my-holds.ts';

const pollIntervalMs = 30_000;
const tickMs = 1_000;

export interface HoldBanner {
  element: HTMLElement;
  /** The visitor is now at path: look the holds up again. */
  refresh(path: string): void;
}

export function createHoldBanner(): HoldBanner {
  const element = h('aside', {
    class: 'hold-banner',
    'aria-label': 'Your held seats',
    'data-testid': 'hold-banner',
    hidden: true,
  });
  let holds: MyReservation[] = [];
  let here = '/';
  let tick: number | undefined;
  let poll: number | undefined;
  let asked = 0;

  const stop = () => {
    window.clearInterval(tick);
    window.clearTimeout(poll);
    tick = undefined;
    poll = undefined;
  };

  /** The holds worth showing now: running, and not the one whose checkout is open. */
  const shown = () =>
    holds.filter((hold) => Date.parse(hold.expires_at) > Date.now() && here !== checkoutPath(hold.reservation_id));

  const draw = () => {
    const visible = shown();
    if (visible.length === 0) {
      element.hidden = true;
      element.replaceChildren();
      stop();
      return;
    }
    const [first] = visible as [MyReservation, ...MyReservation[]];
    const seats = first.seats.length;
    const timer = h('strong', {
      class: 'hold-banner-countdown',
      role: 'timer',
      'data-testid': 'hold-banner-countdown',
    });
    const update = () => {
      const msLeft = Date.parse(first.expires_at) - Date.now();
      if (msLeft <= 0) {
        draw(); // ended: it goes (the next one, if any, takes its place)
        return;
      }
      timer.textContent = countdown(msLeft);
      element.classList.toggle('urgent', msLeft < 60_000);
    };
    replace(
      element,
      h(
        'p',
        { class: 'hold-banner-text' },
        `${seats} seat${seats === 1 ? '' : 's'} for ${first.event_name} held for you · `,
        timer,
        ' left',
      ),
      h(
        'span',
        { class: 'hold-banner-links' },
        h(
          'a',
          { href: checkoutPath(first.reservation_id), 'data-link': true, class: 'hold-banner-checkout' },
          'Return to checkout',
        ),
        visible.length > 1
          ? h('a', { href: '/bookings', 'data-link': true }, `${visible.length - 1} more in My bookings`)
          : null,
      ),
    );
    element.hidden = false;
    window.clearInterval(tick);
    tick = window.setInterval(update, tickMs);
    update();
  };

  const lookUp = async () => {
    const run = ++asked;
    window.clearTimeout(poll);
    let found: MyReservation[];
    try {
      found = await loadActiveHolds();
    } catch {
      found = holds; // keep what was shown; the next look may answer
    }
    if (run !== asked) return;
    holds = found;
    draw();
    if (!element.hidden) poll = window.setTimeout(() => void lookUp(), pollIntervalMs);
  };

  return {
    element,
    refresh(path) {
      here = path;
      draw(); // at once for the new page (e.g. hidden on its own checkout), then from the service
      void lookUp();
    },
  };
}
