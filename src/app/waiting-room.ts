// The waiting room: buyers join a line in front of an event's shop; the admitter lets
// them in at the event's rate; an admission token lets an admitted buyer hold and pay.
//
// The story of a buyer: join (before the opening: a random place in the pre-queue, after
// it: the back of the line) → wait, watching position and estimated wait → admitted: a
// token valid for the admission window → hold and confirm with it. An admission not used
// in time expires; joining again goes to the back.
//
// The line tells the truth about the shop: while nothing is left to sell (every seat
// booked) it says sold_out and admits nobody, and while the organizer has paused it, it
// says so; either way the line keeps its order and admission resumes by itself when seats
// come back (a lapsed hold, a cancellation) or the organizer resumes it.
import { seatsLeft } from '../domain/availability.ts';
import { DomainError } from '../domain/errors.ts';
import {
  burstOf,
  drawQueueKey,
  estimatedWaitSeconds,
  queueKeyFor,
  type WaitingRoomSettings,
} from '../domain/waiting-room.ts';
import type { Deps } from './deps.ts';
import { requireEventOnSale } from './events.ts';
import type { EventRecord } from './ports/events.ts';
import type { QueueState } from './ports/waiting-room.ts';
import { readSeatMap } from './seat-maps.ts';
import { yourTurnJob } from './notifications.ts';

const iso = (ms: number) => new Date(ms).toISOString();

/** An event whose waiting room is on; anything else has no queue to join. */
async function requireRoom(deps: Deps, eventId: string) {
  const event = await requireEventOnSale(deps, eventId);
  if (!event.waitingRoom.enabled) {
    throw new DomainError('WAITING_ROOM_OFF', 'this event has no waiting room: hold seats directly');
  }
  return event;
}

function unavailable(error: unknown): never {
  if (error instanceof DomainError) throw error;
  throw new DomainError(
    'WAITING_ROOM_UNAVAILABLE',
    'the waiting room cannot answer right now; try again shortly',
    {},
    { retryAfterMs: 2_000 },
  );
}

/**
 * Whether the room admits now: 'paused' by the organizer, 'sold_out' while no seat is
 * available or held (read from the live seat map: no PostgreSQL query on the board's
 * path), else 'open'.
 */
export type Admission = 'open' | 'paused' | 'sold_out';

/** How long a reading of the map answers the crowd's joins and status reads (real time). */
const sharedReadingMs = 250;
/** Each event's last reading of whether anything is left, and when it was taken. */
const readings = new Map<string, { atMs: number; soldOut: Promise<boolean> }>();

/**
 * A crowd's joins and status reads share one reading of the map per event for
 * sharedReadingMs (a 100,000-seat map is 25 KB to read and count: not once per join).
 * The admitter and the queue stream's passes read afresh ('fresh'), and their reading is
 * then the shared one: what the streams push and whom the admitter lets in never lags.
 */
export async function admissionOf(deps: Deps, event: EventRecord, read: 'shared' | 'fresh' = 'shared') {
  if (event.waitingRoom.paused) return 'paused' as const;
  const nowMs = performance.now();
  let reading = readings.get(event.id);
  if (read === 'fresh' || !reading || nowMs - reading.atMs >= sharedReadingMs) {
    const soldOut = readSeatMap(deps, event).then((map) => seatsLeft(map.bits, event.seatCount) === 0);
    reading = { atMs: nowMs, soldOut };
    readings.set(event.id, reading);
    soldOut.catch(() => readings.delete(event.id));
  }
  return (await reading.soldOut) ? ('sold_out' as const) : ('open' as const);
}

/** email: the sign-in token's address, where "it is your turn" is sent (none: not sent). */
export async function joinQueue(deps: Deps, userId: string, eventId: string, email: string | null = null) {
  const event = await requireRoom(deps, eventId);
  const nowMs = deps.clock.nowMs();
  const queueKey = queueKeyFor(
    nowMs,
    event.saleOpensAtMs,
    () => drawQueueKey(deps.randomWord),
    () => null,
  );
  const [state, admission] = await Promise.all([
    deps.waitingRoom.join(event.id, userId, queueKey, nowMs, email).catch(unavailable),
    admissionOf(deps, event),
  ]);
  return queueView(deps, event, userId, state, nowMs, admission);
}

export async function queueStatus(deps: Deps, userId: string, eventId: string) {
  const event = await requireRoom(deps, eventId);
  const nowMs = deps.clock.nowMs();
  const [[state], admission] = await Promise.all([
    deps.waitingRoom.states(event.id, [userId], nowMs).catch(unavailable),
    admissionOf(deps, event),
  ]);
  if (!state || state.kind === 'absent') {
    throw new DomainError('QUEUE_NOT_JOINED', 'you are not in this waiting room: join it with POST …/queue');
  }
  return queueView(deps, event, userId, state, nowMs, admission);
}

export type QueueView = Awaited<ReturnType<typeof queueView>>;

/**
 * What a buyer is told. Before the opening the order is not drawn yet: no position. While
 * sold out, the people waiting are told so (and keep their place: seats may come back);
 * while paused, they are told that, with no estimate.
 */
export async function queueView(
  deps: Deps,
  event: EventRecord,
  userId: string,
  state: QueueState,
  nowMs: number,
  admission: Admission,
) {
  const base = {
    event_id: event.id,
    sale_opens_at: iso(event.saleOpensAtMs),
    position: null as number | null,
    ahead: null as number | null,
    estimated_wait_seconds: null as number | null,
    paused: admission === 'paused',
  };
  switch (state.kind) {
    case 'waiting': {
      const status = admission === 'sold_out' ? ('sold_out' as const) : ('waiting' as const);
      if (nowMs < event.saleOpensAtMs) return { ...base, status };
      return {
        ...base,
        status,
        position: state.ahead + 1,
        ahead: state.ahead,
        estimated_wait_seconds:
          admission === 'open' ? estimatedWaitSeconds(state.ahead, event.waitingRoom.admitPerMinute) : null,
      };
    }
    case 'admitted': {
      const token = await deps.admissionTokens.sign({ userId, eventId: event.id, expiresAtMs: state.expiresAtMs });
      return {
        ...base,
        status: 'admitted' as const,
        position: 0,
        ahead: 0,
        estimated_wait_seconds: 0,
        admission_token: token,
        admission_expires_at: iso(state.expiresAtMs),
      };
    }
    case 'expired':
      return { ...base, status: 'expired' as const, admission_expires_at: iso(state.expiredAtMs) };
    case 'absent':
      return { ...base, status: 'expired' as const };
  }
}

/**
 * With the event's waiting room on, a hold or a payment needs this user's admission to
 * this event, unexpired and still standing: a buyer who paid and left the admitted set
 * (finishShopping) cannot shop again with the old token while the next person shops.
 * Anything else (no token, forged, expired, someone else's, another event's, finished) is
 * the same 403. The token is checked first (no Redis call for a forged one); if the room
 * cannot answer (Redis down), the signed, unexpired token alone admits: selling goes on,
 * degraded, rather than stopping.
 */
export async function requireAdmission(deps: Deps, event: EventRecord, userId: string, token: string | undefined) {
  if (!event.waitingRoom.enabled) return;
  if ((await admittedEvent(deps, userId, token)) !== event.id) throw admissionRequired(event.id, token);
}

/**
 * The event this user's admission token admits them to, if the token is valid, theirs,
 * unexpired and still standing in that event's room (see requireAdmission); else null.
 * For a check made where the event is read (the confirmation's begin step).
 */
export async function admittedEvent(deps: Deps, userId: string, token: string | undefined): Promise<string | null> {
  if (!token) return null;
  const nowMs = deps.clock.nowMs();
  const admission = await deps.admissionTokens.verify(token, nowMs);
  if (admission === null || admission.userId !== userId) return null;
  const standing = await deps.waitingRoom.states(admission.eventId, [userId], nowMs).then(
    ([state]) => state?.kind === 'admitted',
    () => true,
  );
  return standing ? admission.eventId : null;
}

export function admissionRequired(eventId: string, token: string | undefined): DomainError {
  return new DomainError(
    'ADMISSION_REQUIRED',
    token
      ? 'the admission token is not valid for you and this event, has expired, or was used up by a purchase: join the waiting room'
      : 'this event has a waiting room: join it and send the admission token in X-Admission-Token',
    { queue: `/v1/events/${eventId}/queue` },
  );
}

export interface AdmitterOptions {
  tickMs: number;
  batchMax: number;
}

export function admissionLimits(settings: WaitingRoomSettings, nowMs: number, options: AdmitterOptions) {
  return {
    nowMs,
    ratePerMs: settings.admitPerMinute / 60_000,
    burst: burstOf(settings.admitPerMinute, options.tickMs),
    maxActiveShoppers: settings.maxActiveShoppers,
    admissionWindowMs: settings.admissionWindowMs,
    batchMax: options.batchMax,
  };
}

const retentionAfterStartMs = 24 * 3_600_000;
const retainEveryMs = 60_000;
/** When this process last set each room's retention (the event's start may move). */
const retained = new Map<string, number>();

/**
 * One tick of the admitter over every room: admits what each event's meter allows. Safe
 * to run in every process at once: the room's admit step is atomic and keeps its own meter.
 * Rooms of events that ended, were cancelled or turned their waiting room off are closed.
 */
export async function admitDue(deps: Deps, options: AdmitterOptions): Promise<number> {
  let admitted = 0;
  for (const eventId of await deps.waitingRoom.rooms()) {
    const event = await deps.events.findEvent(eventId);
    const nowMs = deps.clock.nowMs();
    if (!event || event.status !== 'published' || !event.waitingRoom.enabled || event.startsAtMs <= nowMs) {
      await deps.waitingRoom.closeRoom(eventId);
      readings.delete(eventId);
      continue;
    }
    const retainedAtMs = retained.get(eventId);
    if (retainedAtMs === undefined || retainedAtMs < nowMs - retainEveryMs) {
      // The line and the admissions matter until the event starts; a day later they are gone.
      await deps.waitingRoom.retainUntil(eventId, event.startsAtMs + retentionAfterStartMs);
      retained.set(eventId, nowMs);
    }
    if (nowMs < event.saleOpensAtMs) continue;
    // Paused or sold out: nobody is let in (the meter still fills, to its burst at most, so
    // resuming admits at the set rate, never a flood).
    if ((await admissionOf(deps, event, 'fresh')) !== 'open') continue;
    admitted += await deps.waitingRoom.admit(eventId, admissionLimits(event.waitingRoom, nowMs, options));
    await handOnNotices(deps, eventId);
  }
  return admitted;
}

const noticesPerCall = 500;

/**
 * The admitted buyers who left an address are sent "it is your turn": their notices go to
 * the mail queue (PostgreSQL, durable, queued once per admission), then are dropped from
 * the room. A process that dies between the two leaves them for the next tick (any
 * process's), which queues nothing twice. One call per room and tick; the queue is
 * written only when someone was admitted with an address.
 */
async function handOnNotices(deps: Deps, eventId: string): Promise<void> {
  const notices = await deps.waitingRoom.notices(eventId, noticesPerCall);
  if (notices.length === 0) return;
  await deps.mailQueue.enqueue(notices.map((notice) => yourTurnJob(eventId, notice)));
  await deps.waitingRoom.dropNotices(eventId, notices);
}

export function startAdmitter(deps: Deps, options: AdmitterOptions & { onError: (error: unknown) => void }) {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  // The next tick is scheduled when this one ends: a slow tick delays the next, never piles up.
  const tick = () => {
    running = admitDue(deps, options).then(
      () => undefined,
      (error: unknown) => options.onError(error),
    );
    void running.then(() => {
      if (!stopped) timer = setTimeout(tick, options.tickMs);
    });
  };
  timer = setTimeout(tick, options.tickMs);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}

/**
 * A buyer who paid for an event with a waiting room is done shopping: their place under
 * the shopper cap goes to the next, and their admission token stops working. Not while
 * they still hold other seats of the event: those they may still pay for.
 */
export async function finishShopping(deps: Deps, eventId: string, userId: string): Promise<void> {
  if (await deps.reservations.hasLiveHold(eventId, userId, deps.clock.nowMs())) return;
  await deps.waitingRoom.finish(eventId, userId).catch(() => {}); // the admission lapses by itself anyway
}
