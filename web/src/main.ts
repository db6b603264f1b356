// The app shell: a history-API router over the pages, the signed-in user in the top bar,
// and one notice area for messages that outlive a page. A hash path (`/#/bank/…`, the URL a
// payment provider's next_action names) is routed like a path.
import './styles.css';
import { h, replace } from './dom.ts';
import { sessionEndedEvent } from './api.ts';
import { currentSession, signOut, type Role } from './session.ts';
import { renderEvents } from './pages/events.ts';
import { renderEvent } from './pages/event.ts';
import { renderQueue } from './pages/queue.ts';
import { renderCheckout } from './pages/checkout.ts';
import { renderBookings } from './pages/bookings.ts';
import { renderLogin } from './pages/login.ts';
import { renderOrganize } from './pages/organize.ts';
import { renderBank } from './pages/bank.ts';
import { renderScan } from './pages/scan.ts';
import { renderSaleStats } from './pages/sale-stats.ts';
import { renderSeatBlocks } from './pages/seat-blocks.ts';
import { createHoldBanner } from './hold-banner.ts';

/** What a page gets: where to draw, its path parameters, and the shell's services. */
export interface PageContext {
  root: HTMLElement;
  params: Record<string, string>;
  query: URLSearchParams;
  navigate(path: string, options?: { replace?: boolean }): void;
  notify(message: string, kind?: 'info' | 'error' | 'success'): void;
  /** Sends the visitor to sign in, then back here. */
  requireSignIn(): boolean;
  setTitle(title: string): void;
}

/** A page may return a cleanup (close streams, stop timers) run when the visitor leaves it. */
export type Page = (context: PageContext) => void | (() => void) | Promise<void | (() => void)>;

const routes: [RegExp, string[], Page][] = [
  [/^\/$/, [], renderEvents],
  [/^\/login$/, [], renderLogin],
  [/^\/events\/([^/]+)$/, ['eventId'], renderEvent],
  [/^\/events\/([^/]+)\/queue$/, ['eventId'], renderQueue],
  [/^\/reservations\/([^/]+)$/, ['reservationId'], renderCheckout],
  [/^\/bookings$/, [], renderBookings],
  [/^\/organize$/, [], renderOrganize],
  [/^\/organize\/events\/([^/]+)\/stats$/, ['eventId'], renderSaleStats],
  [/^\/organize\/events\/([^/]+)\/blocks$/, ['eventId'], renderSeatBlocks],
  [/^\/bank\/([^/]+)$/, ['paymentId'], renderBank],
  [/^\/scan$/, [], renderScan],
  [/^\/scan\/([^/]+)$/, ['eventId'], renderScan],
];

/** Who sees the top bar's links marked data-role="…". */
const linkRoles: Record<string, Role[]> = {
  organizer: ['organizer', 'admin'],
  scanner: ['organizer', 'admin', 'staff'],
};

const main = document.getElementById('main')!;
const notice = document.getElementById('notice')!;
// Under the top bar, on every page: the buyer's running hold and the way back to its checkout.
const holdBanner = createHoldBanner();
document.querySelector('.top-bar')!.after(holdBanner.element);
let cleanup: (() => void) | void = undefined;
let renderCount = 0;
let noticeTimer: number | undefined;

function notify(message: string, kind: 'info' | 'error' | 'success' = 'info') {
  notice.textContent = message;
  notice.className = `notice notice-${kind}`;
  notice.hidden = false;
  notice.setAttribute('role', kind === 'error' ? 'alert' : 'status');
  window.clearTimeout(noticeTimer);
  noticeTimer = window.setTimeout(() => (notice.hidden = true), kind === 'error' ? 10_000 : 6_000);
}

/** Where the visitor is in the app: the hash path when there is one, else the path. */
function currentPath(): { path: string; search: string } {
  if (location.hash.startsWith('#/')) {
    const [path = '/', search = ''] = location.hash.slice(1).split('?', 2);
    return { path, search: search ? `?${search}` : '' };
  }
  return { path: location.pathname, search: location.search };
}

/** The address to come back to after signing in (the hash path kept). */
const hereForReturn = () => location.pathname + location.search + (location.hash.startsWith('#/') ? location.hash : '');

function navigate(path: string, options: { replace?: boolean } = {}) {
  if (options.replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  void render();
}

function renderSessionBar() {
  const session = currentSession();
  const bar = document.getElementById('session')!;
  document.querySelectorAll<HTMLElement>('.top-bar [data-role]').forEach((link) => {
    link.hidden = !session || !(linkRoles[link.dataset.role!] ?? []).includes(session.role);
  });
  if (!session) {
    replace(bar, h('a', { href: `/login?next=${encodeURIComponent(hereForReturn())}`, 'data-link': true }, 'Sign in'));
    return;
  }
  replace(
    bar,
    h('span', { class: 'who', 'data-testid': 'signed-in-as' }, `${session.userId} · ${session.role}`),
    h(
      'button',
      {
        type: 'button',
        class: 'link-button',
        onclick: () => {
          signOut();
          navigate('/');
        },
      },
      'Sign out',
    ),
  );
}

async function render() {
  const run = ++renderCount;
  if (cleanup) cleanup();
  cleanup = undefined;
  renderSessionBar();
  const here = currentPath();
  const path = here.path.replace(/\/+$/, '') || '/';
  holdBanner.refresh(path);
  main.replaceChildren();
  main.className = '';
  for (const [pattern, names, page] of routes) {
    const match = pattern.exec(path);
    if (!match) continue;
    const params: Record<string, string> = {};
    names.forEach((name, index) => (params[name] = decodeURIComponent(match[index + 1]!)));
    const context: PageContext = {
      root: main,
      params,
      query: new URLSearchParams(here.search),
      navigate,
      notify,
      requireSignIn: () => {
        if (currentSession()) return true;
        navigate(`/login?next=${encodeURIComponent(hereForReturn())}`, { replace: true });
        return false;
      },
      setTitle: (title) => (document.title = `${title} · Boxoffice`),
    };
    try {
      const result = await page(context);
      if (run === renderCount) cleanup = result;
      else if (result) result(); // the visitor has moved on meanwhile
    } catch (error) {
      if (run !== renderCount) return;
      replace(
        main,
        h(
          'div',
          { class: 'panel error', role: 'alert' },
          h('h1', {}, 'Something went wrong'),
          h('p', {}, String(error instanceof Error ? error.message : error)),
        ),
      );
    }
    return;
  }
  document.title = 'Not found · Boxoffice';
  replace(
    main,
    h(
      'div',
      { class: 'panel' },
      h('h1', {}, 'Page not found'),
      h('p', {}, h('a', { href: '/', 'data-link': true }, 'Back to the events')),
    ),
  );
}

document.addEventListener('click', (event) => {
  const link = (event.target as Element | null)?.closest?.('a[data-link]');
  if (!(link instanceof HTMLAnchorElement) || event.defaultPrevented || event.button !== 0) return;
  if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  event.preventDefault();
  navigate(link.pathname + link.search + (link.hash.startsWith('#/') ? link.hash : ''));
});
window.addEventListener('popstate', () => void render());
window.addEventListener(sessionEndedEvent, () => {
  notify('Your sign-in is no longer valid (the service may have restarted): please sign in again.', 'error');
  navigate(`/login?next=${encodeURIComponent(hereForReturn())}`, { replace: true });
});
void render();
