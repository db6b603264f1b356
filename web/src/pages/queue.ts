// The waiting room: your place in line, how many are ahead, the estimated wait; it moves
// by itself (a live stream) and sends you to the seat map when you are admitted. Joining
// again keeps your place, so a reload lands you where you were.
import { api, ApiError, describeError, type EventDetail, type QueueState } from '../api.ts';
import { h, replace } from '../dom.ts';
import { dateTime, waitText } from '../format.ts';
import type { PageContext } from '../main.ts';
import { currentSession, rememberAdmission } from '../session.ts';
import { openAuthorizedStream } from '../sse.ts';
import { joinThroughDoor } from '../join-challenge.ts';

export async function renderQueue(context: PageContext) {
  if (!context.requireSignIn()) return;
  const session = currentSession()!;
  const eventId = context.params.eventId!;
  const event = await api<EventDetail>(`/v1/events/${encodeURIComponent(eventId)}`);
  context.setTitle(`Waiting room · ${event.name}`);
  if (!event.waiting_room.enabled) {
    context.navigate(`/events/${eventId}`, { replace: true });
    return;
  }

  const headline = h('p', { class: 'queue-headline', 'data-testid': 'queue-status' }, 'Joining the line…');
  const position = h('strong', { 'data-testid': 'queue-position' }, '–');
  const ahead = h('strong', { 'data-testid': 'queue-ahead' }, '–');
  const wait = h('strong', { 'data-testid': 'queue-wait' }, '–');
  const progress = h('progress', { max: 1, value: 0, 'aria-label': 'Your progress through the line' });
  const connection = h('p', { class: 'hint' });
  let startAhead: number | null = null;
  let admitted = false;

  const show = (state: QueueState) => {
    if (admitted) return;
    if (state.status === 'admitted' && state.admission_token && state.admission_expires_at) {
      admitted = true;
      rememberAdmission(eventId, session.userId, state.admission_token, state.admission_expires_at);
      headline.textContent = 'It is your turn! Taking you to the seats…';
      context.notify(`You are in: choose your seats for ${event.name}.`, 'success');
      context.navigate(`/events/${eventId}`, { replace: true });
      return;
    }
    if (state.status === 'expired') {
      headline.textContent = 'Your turn came and went: your admission expired.';
      rejoin.hidden = false;
      return;
    }
    if (state.status === 'sold_out') {
      headline.textContent =
        'Sold out: every seat is taken right now. Keep your place: if seats come back (an unpaid hold ends, a booking is cancelled), the line moves again.';
    } else if (state.paused) {
      headline.textContent = 'The organizer has paused the line for a moment. You keep your place.';
    } else if (state.position === null) {
      headline.textContent = `You are in the line. The sale opens ${dateTime(state.sale_opens_at)}: then everyone who joined before is put in a random order.`;
    } else {
      headline.textContent = 'You are in the line. Keep this page open: it moves by itself.';
    }
    headline.dataset.state = state.status === 'sold_out' ? 'sold-out' : state.paused ? 'paused' : 'moving';
    // The position starts at 1 (next in).
    position.textContent = state.position === null ? 'drawn at the opening' : state.position.toLocaleString();
    ahead.textContent = state.ahead === null ? '–' : state.ahead.toLocaleString();
    wait.textContent = waitText(state.estimated_wait_seconds);
    if (state.ahead !== null) {
      startAhead = Math.max(startAhead ?? 0, state.ahead);
      progress.value = startAhead === 0 ? 1 : 1 - state.ahead / startAhead;
    }
  };

  const rejoin = h(
    'button',
    {
      type: 'button',
      class: 'primary',
      hidden: true,
      onclick: async () => {
        rejoin.hidden = true;
        await join();
      },
    },
    'Join the line again',
  );
  let closeStream: () => void = () => {};
  const join = async () => {
    try {
      show(
        await joinThroughDoor<QueueState>(eventId, () => {
          headline.textContent = 'Checking your browser… (a moment of work that keeps bots out of the line)';
          headline.dataset.state = 'checking';
        }),
      );
    } catch (error) {
      headline.textContent = describeError(error);
      if (error instanceof ApiError && error.code === 'WAITING_ROOM_OFF') context.navigate(`/events/${eventId}`);
      return;
    }
    closeStream();
    closeStream = openAuthorizedStream(`/v1/events/${encodeURIComponent(eventId)}/queue/stream`, {
      onMessage: (message) => {
        if (message.event === 'queue') show(JSON.parse(message.data) as QueueState);
      },
      onRefused: (_status, body) => {
        headline.textContent = `The line stopped answering: ${body.slice(0, 200)}`;
      },
      onConnectionChange: (connected) => {
        connection.textContent = connected ? '' : 'Reconnecting… you keep your place.';
      },
    });
  };

  replace(
    context.root,
    h(
      'section',
      { class: 'panel queue', 'aria-labelledby': 'queue-title' },
      h('h1', { id: 'queue-title' }, 'Waiting room'),
      h(
        'p',
        {},
        h('a', { href: `/events/${eventId}`, 'data-link': true }, event.name),
        ` · ${dateTime(event.starts_at)}`,
      ),
      headline,
      h(
        'dl',
        { class: 'queue-figures', 'aria-live': 'polite' },
        h('div', {}, h('dt', {}, 'Your place'), h('dd', {}, position)),
        h('div', {}, h('dt', {}, 'People ahead of you'), h('dd', {}, ahead)),
        h('div', {}, h('dt', {}, 'Estimated wait'), h('dd', {}, wait)),
      ),
      progress,
      rejoin,
      connection,
      h(
        'p',
        { class: 'hint' },
        'Reloading or coming back later keeps your place. Buyers are let in at a steady rate so the sale stays fair and fast.',
      ),
    ),
  );
  await join();
  return () => closeStream();
}
