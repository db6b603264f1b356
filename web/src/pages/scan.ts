// The door scanner (/scan, /scan/<event id>): the event's organizer, an admin, or door staff
// whose token lists the event pick the event, then check tickets in: from the camera
// (qr-camera.ts) or a code typed or pasted (a handheld scanner that types works there too).
// Each answer fills the top of the screen, green or red, big enough to read at arm's length.
import { api, describeError, query, type CheckIn, type EventDetail, type EventSummary } from '../api.ts';
import { admittedAnswer, refusedAnswer, type ScanAnswer } from '../check-in-answer.ts';
import { h, replace } from '../dom.ts';
import { dateTime, timeOfDay } from '../format.ts';
import type { PageContext } from '../main.ts';
import { CameraError, startQrCamera, type QrCamera } from '../qr-camera.ts';
import { currentSession, type Session } from '../session.ts';

/** The same code read again by the camera within this long of its last sighting is the same scan. */
const repeatQuietMs = 3_000;
/** The recent scans listed under the scanner. */
const scanLogLengthMax = 20;
/** A ticket code is at most this long (the check-in route's limit). */
const codeLengthMax = 512;
/** Events listed to choose from (an organizer's, or the ones a staff token names). */
const eventChoicesMax = 50;

const scanningRoles: Session['role'][] = ['organizer', 'admin', 'staff'];

export function renderScan(context: PageContext) {
  if (!context.requireSignIn()) return;
  context.setTitle('Scan tickets');
  const session = currentSession()!;
  if (!scanningRoles.includes(session.role)) {
    replace(
      context.root,
      h(
        'div',
        { class: 'panel narrow', 'data-testid': 'scanner-only' },
        h('h1', {}, 'Scan tickets'),
        h(
          'p',
          {},
          `You are signed in as ${session.userId}, a buyer. Tickets are checked in by the event's organizer or its door staff.`,
        ),
        h('p', {}, h('a', { href: '/login?next=/scan', 'data-link': true }, 'Sign in as an organizer or door staff')),
      ),
    );
    return;
  }
  const eventId = context.params.eventId;
  return eventId ? renderScanner(context, session, eventId) : renderEventChoice(context, session);
}

/** /scan: the events this person may scan for, and a field for an event ID. */
function renderEventChoice(context: PageContext, session: Session) {
  const controller = new AbortController();
  const list = h('ul', { class: 'scan-events', 'data-testid': 'scan-events', 'aria-busy': 'true' });
  const status = h('p', { class: 'hint' }, 'Loading your events…');
  const idInput = h('input', {
    id: 'scan-event-id',
    name: 'event-id',
    required: true,
    maxlength: 100,
    autocomplete: 'off',
    autocapitalize: 'off',
    spellcheck: 'false',
    'data-testid': 'scan-event-id',
  });
  const typed = h(
    'form',
    { class: 'scan-event-form' },
    h('label', { for: 'scan-event-id' }, 'Or type an event ID'),
    h('div', { class: 'scan-inline' }, idInput, h('button', { type: 'submit', class: 'primary' }, 'Open scanner')),
  );
  typed.addEventListener('submit', (submitEvent) => {
    submitEvent.preventDefault();
    const id = idInput.value.trim();
    if (id) context.navigate(`/scan/${encodeURIComponent(id)}`);
  });
  replace(
    context.root,
    h(
      'div',
      { class: 'scan-page' },
      h('h1', {}, 'Scan tickets'),
      h(
        'section',
        { class: 'panel', 'aria-label': 'Choose the event' },
        h('h2', {}, 'Which event?'),
        status,
        list,
        typed,
      ),
    ),
  );

  const eventLink = (id: string, name: string, meta: string) =>
    h(
      'li',
      {},
      h(
        'a',
        { href: `/scan/${encodeURIComponent(id)}`, 'data-link': true, class: 'scan-event', 'data-event-id': id },
        h('span', { class: 'event-name' }, name),
        meta ? h('span', { class: 'event-meta' }, meta) : null,
      ),
    );
  const eventMeta = (event: EventSummary) => `${dateTime(event.starts_at)} · ${event.venue.name}, ${event.venue.city}`;

  const load = async () => {
    try {
      if (session.role === 'staff') {
        // Staff see the events their token names (a name the catalog does not give stays an ID).
        const ids = session.events.slice(0, eventChoicesMax);
        const events = await Promise.all(
          ids.map((id) =>
            api<EventDetail>(`/v1/events/${encodeURIComponent(id)}`, { signal: controller.signal }).catch(() => null),
          ),
        );
        replace(
          list,
          ...ids.map((id, index) => {
            const event = events[index];
            return event ? eventLink(id, event.name, eventMeta(event)) : eventLink(id, `Event ${id}`, '');
          }),
        );
        status.textContent =
          ids.length === 0 ? 'Your sign-in names no events: type the ID the organizer gave you.' : '';
      } else {
        const page = await api<{ events: EventSummary[] }>(
          `/v1/me/events${query({ sort: 'date', limit: eventChoicesMax })}`,
          { signal: controller.signal },
        );
        // Drafts sell nothing, and a cancelled event's tickets are all refunded.
        const scannable = page.events.filter((event) => event.status === 'published');
        replace(list, ...scannable.map((event) => eventLink(event.event_id, event.name, eventMeta(event))));
        status.textContent = scannable.length === 0 ? 'You have no published events.' : '';
      }
    } catch (error) {
      if (controller.signal.aborted) return;
      status.textContent = describeError(error);
    } finally {
      list.removeAttribute('aria-busy');
    }
  };
  void load();
  return () => controller.abort();
}

/** /scan/<event id>: the answer, the camera, the typed code and the recent scans. */
function renderScanner(context: PageContext, session: Session, eventId: string) {
  const controller = new AbortController();
  const { signal } = controller;
  const eventLine = h('p', { class: 'scan-event-line', 'data-testid': 'scan-event' }, `Event ${eventId}`);
  const answer = h('div', {
    class: 'scan-answer scan-answer-idle',
    'data-testid': 'scan-answer',
    'data-result': 'idle',
    role: 'status',
    'aria-live': 'assertive',
    'aria-atomic': 'true',
  });
  const video = h('video', { class: 'scan-video', muted: true, playsinline: true, 'aria-label': 'Camera view' });
  const cameraButton = h('button', { type: 'button', 'data-testid': 'camera-toggle' }, 'Start camera');
  const cameraStatus = h('p', { class: 'scan-camera-status', 'data-testid': 'camera-status', role: 'status' });
  const codeInput = h('input', {
    id: 'scan-code',
    name: 'code',
    required: true,
    maxlength: codeLengthMax,
    autocomplete: 'off',
    autocapitalize: 'off',
    spellcheck: 'false',
    enterkeyhint: 'go',
    placeholder: 'BX1.…',
    'data-testid': 'scan-code',
  });
  const codeForm = h(
    'form',
    { class: 'scan-typed', 'aria-label': 'Check in a typed code' },
    h('label', { for: 'scan-code' }, 'Ticket code'),
    h(
      'div',
      { class: 'scan-inline' },
      codeInput,
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'scan-submit' }, 'Check in'),
    ),
    h('p', { class: 'hint' }, 'Type or paste the code printed under the QR code, or use a handheld scanner here.'),
  );
  const log = h('ol', { class: 'scan-log', 'data-testid': 'scan-log' });
  const logSection = h('section', { class: 'scan-log-part', hidden: true }, h('h2', {}, 'Recent scans'), log);

  replace(
    context.root,
    h(
      'div',
      { class: 'scan-page' },
      h(
        'div',
        { class: 'scan-head' },
        h('h1', {}, 'Scan tickets'),
        h('a', { href: '/scan', 'data-link': true }, 'Change event'),
      ),
      eventLine,
      // The organizer hands this to their door staff, who sign in with it.
      session.role === 'staff'
        ? null
        : h('p', { class: 'hint scan-share' }, 'Door staff sign in with its ID: ', h('code', {}, eventId)),
      answer,
      h(
        'section',
        { class: 'panel scan-camera', 'aria-label': 'Camera' },
        video,
        h('div', { class: 'scan-camera-bar' }, cameraButton, cameraStatus),
      ),
      h('section', { class: 'panel' }, codeForm),
      logSection,
    ),
  );
  video.hidden = true;

  const showAnswer = (shown: ScanAnswer | { tone: 'idle' | 'pending'; headline: string; detail: string }) => {
    const result = 'result' in shown ? shown.result : shown.tone;
    answer.className = `scan-answer scan-answer-${shown.tone}`;
    answer.dataset.result = result;
    replace(
      answer,
      h('div', { class: 'scan-answer-headline', 'data-testid': 'scan-headline' }, shown.headline),
      'seat' in shown && shown.seat ? h('div', { class: 'scan-answer-seat' }, shown.seat) : null,
      h('div', { class: 'scan-answer-detail' }, shown.detail),
    );
  };
  const ready = () =>
    showAnswer({ tone: 'idle', headline: 'Ready', detail: "Scan a ticket's QR code, or type its code below." });
  ready();

  api<EventDetail>(`/v1/events/${encodeURIComponent(eventId)}`, { signal })
    .then((event) => {
      eventLine.textContent = `${event.name} · ${dateTime(event.starts_at)} · ${event.venue.name}, ${event.venue.city}`;
      context.setTitle(`Scan: ${event.name}`);
    })
    .catch(() => {
      // An event the catalog does not show (a draft) can still be scanned by its staff.
    });

  const record = (shown: ScanAnswer) => {
    logSection.hidden = false;
    log.prepend(
      h(
        'li',
        { class: `scan-log-${shown.tone}`, 'data-result': shown.result },
        h('span', { class: 'scan-log-time' }, timeOfDay(new Date().toISOString(), Date.now())),
        ` ${shown.headline}`,
        shown.seat ? ` · ${shown.seat}` : '',
      ),
    );
    while (log.children.length > scanLogLengthMax) log.lastElementChild!.remove();
  };

  let busy = false;
  const checkIn = async (code: string): Promise<ScanAnswer | null> => {
    busy = true;
    showAnswer({ tone: 'pending', headline: 'Checking…', detail: 'Asking the box office.' });
    try {
      const admitted = await api<CheckIn>(`/v1/events/${encodeURIComponent(eventId)}/checkins`, {
        method: 'POST',
        body: { code },
        signal,
      });
      return admittedAnswer(admitted);
    } catch (error) {
      if (signal.aborted) return null;
      return refusedAnswer(error, Date.now());
    } finally {
      busy = false;
    }
  };
  const scan = async (code: string) => {
    const shown = await checkIn(code);
    if (!shown) return;
    showAnswer(shown);
    record(shown);
    navigator.vibrate?.(shown.tone === 'go' ? 80 : [200, 80, 200]);
  };

  codeForm.addEventListener('submit', async (submitEvent) => {
    submitEvent.preventDefault();
    const code = codeInput.value.trim();
    if (!code || busy) return;
    await scan(code);
    codeInput.value = '';
    // A keyboard (or a scanner that types) goes on with the next code; on a touch screen the
    // keyboard is closed so the answer is in view.
    if (window.matchMedia('(pointer: fine)').matches) codeInput.focus();
    else {
      codeInput.blur();
      answer.scrollIntoView({ block: 'start', behavior: 'smooth' });
    }
  });

  // The camera: a code held in view is read on every frame; it counts once until it has
  // been out of view for a moment (so "Admitted" is not followed by "Already checked in").
  let camera: QrCamera | null = null;
  let starting = false;
  let lastCode = '';
  let lastSeenMs = 0;
  const found = (code: string) => {
    const nowMs = Date.now();
    const repeat = code === lastCode && nowMs - lastSeenMs < repeatQuietMs;
    if (code === lastCode) lastSeenMs = nowMs;
    if (repeat || busy) return;
    lastCode = code;
    lastSeenMs = nowMs;
    void scan(code);
  };
  const stopCamera = () => {
    camera?.stop();
    camera = null;
    video.hidden = true;
    cameraButton.textContent = 'Start camera';
  };
  const startCamera = async () => {
    if (starting || camera) return;
    starting = true;
    cameraButton.disabled = true;
    cameraStatus.textContent = 'Starting the camera…';
    cameraStatus.dataset.state = 'starting';
    video.hidden = false;
    try {
      const started = await startQrCamera(video, found);
      if (signal.aborted) {
        started.stop();
        return;
      }
      camera = started;
      cameraButton.textContent = 'Stop camera';
      cameraStatus.textContent = 'Point the camera at the QR code.';
      cameraStatus.dataset.state = 'on';
    } catch (error) {
      if (signal.aborted) return;
      video.hidden = true;
      cameraStatus.textContent =
        error instanceof CameraError ? error.message : `The camera could not be started: ${describeError(error)}`;
      cameraStatus.dataset.state = 'failed';
    } finally {
      starting = false;
      cameraButton.disabled = false;
    }
  };
  cameraButton.addEventListener('click', () => {
    if (camera) {
      stopCamera();
      cameraStatus.textContent = 'Camera off.';
      cameraStatus.dataset.state = 'off';
    } else void startCamera();
  });
  void startCamera();

  return () => {
    controller.abort();
    stopCamera();
  };
}
