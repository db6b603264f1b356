// The buyers of the flash-sale benchmark (bench/flash-sale.ts): a bounded pool of buyer
// sessions working through a list of buyers, each buyer joining the waiting room (when the
// event has one), reading availability, holding 1 to 4 adjacent seats with a preference for
// the front rows, retrying on 409 from fresh availability (the changes since the map it has,
// or 304, where the server offers them), then confirming (80%) or walking
// away (20%: the hold expires and the seats are sold again). Every loop is bounded in count
// (the buyer list, the tries of a buyer) and in time (the run's deadline); every request has
// a timeout. Only the origin given (127.0.0.1) is ever asked.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { inflateRawSync } from 'node:zlib';
import { request as undiciRequest } from 'undici';
import { mintTokenSync, seededRandom } from './fixtures.ts';
import { newPool, Recorder, round, type LoadResult } from './load.ts';
import { summarize, type Summary } from './stats.ts';

export interface VenueLayout {
  sections: number;
  rows: number;
  seatsPerRow: number;
}

export interface BuyerRunOptions {
  origin: string;
  eventId: string;
  layout: VenueLayout;
  seatCount: number;
  buyers: number;
  sessions: number;
  /** Waiting room: every buyer joins (joinConnections at a time, in list order) and waits to be admitted. */
  waitingRoom: { joinConnections: number; pollMs: number } | null;
  /** Open this many SSE subscribers on GET …/seats/stream and time each hold's change (the service only). */
  sseSubscribers: number;
  durationMs: number;
  authSecret: string;
  /** User ids are `${userPrefix}-<buyer>`: distinct per event, so no per-user cap is shared. */
  userPrefix: string;
  seed: number;
  confirmShare: number;
  holdTriesMax: number;
  /** How long a buyer who sees no free seat (but some held) keeps looking, reading every patienceStepMs. */
  patienceMs: number;
  shouldAbort: () => boolean;
}

export interface SecondFigures {
  second: number;
  hold_requests: number;
  holds_201: number;
  holds_409: number;
  confirms_201: number;
  seats_booked: number;
  reserve_p50_ms: number | null;
  reserve_p99_ms: number | null;
}

export interface BuyerRunResult {
  /** From the first request to the last answer. */
  elapsed_s: number;
  stopped_by: 'sold-out' | 'buyers' | 'time' | 'abort';
  sold_out: boolean;
  /** From the first request to the confirm that booked the last seat. */
  sell_out_s: number | null;
  /** The sale's window for the rates: until sold out, else the whole run. */
  window_s: number;
  buyers: {
    listed: number;
    joined: number;
    admitted: number;
    started: number;
    bought: number;
    abandoned: number;
    gave_up_after_409s: number;
    found_no_seat: number;
    failed: number;
    not_admitted_in_time: number;
    /** Buyers whose turn the end of the run (sold out, or out of time) interrupted. */
    cut_off_by_the_end: number;
  };
  seats_booked: number;
  seats_abandoned: number;
  /** Seats a buyer walked away from that another buyer then booked. */
  abandoned_seats_resold: number;
  /** Seats answered 201 by more than one confirm (from the answers the buyers read). */
  oversold_by_answers: number;
  /** reservation id → booking id of every confirm answered 201. */
  confirmed: Map<string, string>;
  confirm_errors: number;
  requests: Record<'join' | 'poll' | 'availability' | 'hold' | 'confirm', LoadResult>;
  hold_requests: number;
  holds_201: number;
  hold_409_rate: number;
  hold_requests_per_s: number;
  holds_per_s: number;
  seats_per_s: number;
  requests_per_s: number;
  sse: { subscribers: number; connected: number; lag_ms: Summary; unmatched_holds: number } | null;
  timeline: SecondFigures[];
}

/** A seat's status in the availability bits (the service's layout): 0 free, 1 held, 2 booked. */
const statusAt = (bits: Uint8Array, seatNo: number) => ((bits[seatNo >> 2] ?? 0) >> (6 - 2 * (seatNo & 3))) & 3;
const statusCodes: Record<string, number> = { available: 0, held: 1, booked: 2 };
const setStatus = (bits: Uint8Array, seatNo: number, code: number) => {
  const shift = 6 - 2 * (seatNo & 3);
  if (seatNo >> 2 < bits.length) bits[seatNo >> 2] = (bits[seatNo >> 2]! & ~(3 << shift)) | (code << shift);
};

/** GET …/availability answers: the full map, or (asked with `since`, the service only) the changes since. */
type AvailabilityAnswer =
  /** 2 bits a seat, raw DEFLATE, base64: the service's layout (the classic designs name it 2bit-msb-…). */
  | { encoding: '2bit-deflate-raw-base64' | '2bit-msb-deflate-raw-base64'; version?: number; data: string }
  | { encoding: 'seat-changes'; version: number; changes: { seat_id: string; status: string }[] };

/** Which kind of availability answer a buyer got (the requests' labels). */
const availabilityAnswerKind = (status: number, body: string) =>
  status === 304 ? 'not-modified' : body.includes('"encoding":"seat-changes"') ? 'changes' : 'full';

/**
 * A buyer's copy of the map: updated from the changes since its version when the server
 * sends them, replaced by a full document otherwise. The classic designs send no version
 * and no ETag: their buyers read the whole map every time.
 */
function takeAvailability(map: BuyerMap | null, answer: AvailabilityAnswer, etag: string | null): BuyerMap {
  if (answer.encoding === 'seat-changes') {
    if (!map) throw new Error('changes answered to a buyer who asked for the whole map');
    for (const change of answer.changes)
      setStatus(map.bits, Number(change.seat_id.slice(1)), statusCodes[change.status]!);
    return { bits: map.bits, version: answer.version, etag };
  }
  return {
    bits: new Uint8Array(inflateRawSync(Buffer.from(answer.data, 'base64'))),
    version: answer.version ?? null,
    etag,
  };
}

interface BuyerMap {
  bits: Uint8Array;
  version: number | null;
  etag: string | null;
}

/**
 * 1 to 4 adjacent free seats: a row drawn with a preference for the front (row r with
 * probability falling as r grows), a section at random; the first row in that order, from
 * front to back, with a run of `want` free seats gets them (at a random place in a random
 * such run); with no such run anywhere, the longest run there is. Null when nothing is free.
 */
export function pickSeats(bits: Uint8Array, layout: VenueLayout, want: number, random: () => number): number[] | null {
  const firstRow = Math.floor(layout.rows * random() ** 3);
  const firstSection = Math.floor(layout.sections * random());
  let longest: { start: number; length: number } | null = null;
  for (let r = 0; r < layout.rows; r += 1) {
    const row = (firstRow + r) % layout.rows;
    for (let s = 0; s < layout.sections; s += 1) {
      const section = (firstSection + s) % layout.sections;
      const base = (section * layout.rows + row) * layout.seatsPerRow;
      const fits: { start: number; length: number }[] = [];
      let runStart = -1;
      for (let k = 0; k <= layout.seatsPerRow; k += 1) {
        const free = k < layout.seatsPerRow && statusAt(bits, base + k) === 0;
        if (free && runStart < 0) runStart = k;
        if (!free && runStart >= 0) {
          const run = { start: base + runStart, length: k - runStart };
          if (run.length >= want) fits.push(run);
          else if (!longest || run.length > longest.length) longest = run;
          runStart = -1;
        }
      }
      if (fits.length > 0) {
        const run = fits[Math.floor(random() * fits.length)]!;
        const start = run.start + Math.floor(random() * (run.length - want + 1));
        return Array.from({ length: want }, (_, i) => start + i);
      }
    }
  }
  return longest ? Array.from({ length: longest.length }, (_, i) => longest.start + i) : null;
}

/** 1 seat 25%, 2 seats 40%, 3 seats 20%, 4 seats 15%. */
const seatsWanted = (random: () => number) => {
  const u = random();
  return u < 0.25 ? 1 : u < 0.65 ? 2 : u < 0.85 ? 3 : 4;
};

/** Matches each hold's 201 with the SSE message that shows its seats held: the change lag. */
class ChangeLag {
  readonly lags: number[] = [];
  private readonly answered = new Map<string, number>(); // seat → when its 201 was read
  private readonly seen = new Map<string, number>(); // seat → when the stream said "held" first
  unmatched = 0;
  answer(seatId: string, atMs: number) {
    const seenAt = this.seen.get(seatId);
    if (seenAt !== undefined && atMs - seenAt < 5_000) {
      this.seen.delete(seatId);
      this.lags.push(0); // the stream was faster than the answer
    } else this.answered.set(seatId, atMs);
  }
  held(seatId: string, atMs: number) {
    const answeredAt = this.answered.get(seatId);
    if (answeredAt !== undefined) {
      this.answered.delete(seatId);
      this.lags.push(atMs - answeredAt);
    } else this.seen.set(seatId, atMs);
  }
  finish() {
    this.unmatched += this.answered.size;
  }
}

/** One SSE subscriber: reads `seat` messages until aborted; calls onHeld for every seat shown held. */
async function subscribe(origin: string, eventId: string, lag: ChangeLag, signal: AbortSignal, onOpen: () => void) {
  const response = await undiciRequest(`${origin}/v1/events/${eventId}/seats/stream`, {
    signal,
    headersTimeout: 10_000,
    bodyTimeout: 0,
  });
  if (response.statusCode !== 200) throw new Error(`seats/stream answered ${response.statusCode}`);
  onOpen();
  let buffer = '';
  try {
    for await (const chunk of response.body) {
      buffer += (chunk as Buffer).toString('utf8');
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (!message.startsWith('event: seat')) continue;
        const data = message.slice(message.indexOf('data: ') + 6);
        const now = performance.now();
        const { changes } = JSON.parse(data) as { changes: { seat_id: string; status: string }[] };
        for (const change of changes) if (change.status === 'held') lag.held(change.seat_id, now);
      }
    }
  } catch (error) {
    if (!signal.aborted) throw error;
  }
}

type Outcome = 'bought' | 'abandoned' | 'gave-up' | 'none' | 'failed' | 'not-admitted' | 'cut-off';

export async function runBuyers(options: BuyerRunOptions): Promise<BuyerRunResult> {
  const { origin, eventId, layout, seatCount } = options;
  const timeoutMs = 30_000;
  const pool = newPool(origin, options.sessions, timeoutMs);
  // The crowd's own connections: joining, and polling the head of the line.
  const joinPool = options.waitingRoom ? newPool(origin, 2 * options.waitingRoom.joinConnections, timeoutMs) : null;
  const kinds = ['join', 'poll', 'availability', 'hold', 'confirm'] as const;
  const recorders = Object.fromEntries(kinds.map((kind) => [kind, new Recorder()])) as Record<
    (typeof kinds)[number],
    Recorder
  >;
  const sent = Object.fromEntries(kinds.map((kind) => [kind, 0])) as Record<(typeof kinds)[number], number>;
  const perSecond: {
    holds: number;
    holds201: number;
    holds409: number;
    confirms201: number;
    seatsBooked: number;
    latencies: number[];
  }[] = [];
  const secondOf = (atMs: number) =>
    (perSecond[Math.floor((atMs - startedAt) / 1000)] ??= {
      holds: 0,
      holds201: 0,
      holds409: 0,
      confirms201: 0,
      seatsBooked: 0,
      latencies: [],
    });
  const outcomes: Record<Outcome, number> = {
    bought: 0,
    abandoned: 0,
    'gave-up': 0,
    none: 0,
    failed: 0,
    'not-admitted': 0,
    'cut-off': 0,
  };
  const booked = new Map<number, number>(); // seat → how many confirm 201s named it
  const abandonedSeats = new Set<number>();
  const resold = new Set<number>();
  const confirmed = new Map<string, string>();
  let confirmErrors = 0;
  let admitted = 0;
  let joined = 0; // buyers 0 … joined-1 have had their join answered (or failed)
  const joinedUpTo: boolean[] = [];
  let nextBuyer = 0;
  let soldOutAt: number | null = null;
  let stoppedBy: BuyerRunResult['stopped_by'] | null = null;
  const lag = new ChangeLag();
  const sseAbort = new AbortController();
  let sseConnected = 0;

  // SSE subscribers first (not counted in the sale's time).
  const subscribers = Array.from({ length: options.sseSubscribers }, () =>
    subscribe(origin, eventId, lag, sseAbort.signal, () => (sseConnected += 1)).catch(() => {}),
  );
  const sseDeadline = performance.now() + 10_000;
  while (sseConnected < options.sseSubscribers && performance.now() < sseDeadline) await sleep(20);

  // Every connection open (and accepted) before the clock starts: a server whose event loop is
  // busy accepts one new connection per loop iteration (libuv 1.45 and later), so connections
  // opened as the sale starts would wait in its accept queue, their first requests with them
  // (the embedded server's 13–27 s tail, docs/performance.md). Any answer will do (the classic
  // designs' servers have no /readyz).
  const preconnect = (via: typeof pool, connections: number) =>
    Promise.all(
      Array.from({ length: connections }, async () => {
        const response = await via.request({ method: 'GET', path: '/readyz' });
        await response.body.text();
      }),
    );
  await Promise.all([
    preconnect(pool, options.sessions),
    joinPool ? preconnect(joinPool, 2 * options.waitingRoom!.joinConnections) : null,
  ]);

  const startedAt = performance.now();
  const deadline = startedAt + options.durationMs;
  const over = () => {
    if (stoppedBy) return true;
    if (options.shouldAbort()) stoppedBy = 'abort';
    else if (performance.now() >= deadline) stoppedBy = 'time';
    return stoppedBy !== null;
  };

  /** Sends one request of `kind`; null when it got no answer (recorded as an error). */
  async function send(
    kind: (typeof kinds)[number],
    method: 'GET' | 'POST',
    path: string,
    headers: Record<string, string>,
    body?: unknown,
    via = pool,
  ): Promise<{ status: number; body: string; headers: Record<string, unknown>; at: number } | null> {
    sent[kind] += 1;
    const sentAt = performance.now();
    try {
      const response = await via.request({
        method,
        path,
        headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.body.text();
      const at = performance.now();
      const label = kind === 'availability' ? availabilityAnswerKind(response.statusCode, text) : undefined;
      recorders[kind].answer(response.statusCode, text, at - sentAt, label);
      if (kind === 'hold') {
        const second = secondOf(sentAt);
        second.holds += 1;
        second.latencies.push(at - sentAt);
        if (response.statusCode === 201) second.holds201 += 1;
        if (response.statusCode === 409) second.holds409 += 1;
      }
      return { status: response.statusCode, body: text, headers: response.headers, at };
    } catch (error) {
      recorders[kind].failure(error, performance.now() - sentAt);
      return null;
    }
  }

  const tokenOf = (buyer: number) => mintTokenSync(options.authSecret, `${options.userPrefix}-${buyer}`, 'customer');

  // The crowd: every buyer joins the waiting room, in list order, a few at a time.
  const joiner = async () => {
    if (!options.waitingRoom || !joinPool) return;
    let next = 0;
    const one = async () => {
      while (next < options.buyers && !over()) {
        const buyer = next++;
        const answer = await send(
          'join',
          'POST',
          `/v1/events/${eventId}/queue`,
          { authorization: `Bearer ${tokenOf(buyer)}` },
          undefined,
          joinPool,
        );
        joinedUpTo[buyer] = answer !== null;
        joined += 1;
      }
    };
    await Promise.all(Array.from({ length: options.waitingRoom.joinConnections }, one));
  };

  /** Waits for the buyer's join, then polls GET …/queue/me until admitted: the admission token, or null. */
  async function admission(buyer: number, authorization: string): Promise<string | null> {
    while (joinedUpTo[buyer] === undefined) {
      if (over()) return null;
      await sleep(5);
    }
    if (!joinedUpTo[buyer]) return null;
    while (!over()) {
      const answer = await send(
        'poll',
        'GET',
        `/v1/events/${eventId}/queue/me`,
        { authorization },
        undefined,
        joinPool!,
      );
      if (!answer) return null;
      if (answer.status === 200) {
        const view = JSON.parse(answer.body) as { status: string; admission_token?: string };
        if (view.status === 'admitted' && view.admission_token) {
          admitted += 1;
          return view.admission_token;
        }
      }
      await sleep(options.waitingRoom!.pollMs);
    }
    return null;
  }

  async function buyer(index: number, admissionToken: string | null): Promise<Outcome> {
    const random = seededRandom((options.seed ^ Math.imul(index + 1, 2_654_435_761)) >>> 0);
    const headers: Record<string, string> = { authorization: `Bearer ${tokenOf(index)}` };
    if (admissionToken) headers['x-admission-token'] = admissionToken;
    const want = seatsWanted(random);
    let tries = 0;
    const patienceEnd = performance.now() + options.patienceMs;
    // A new buyer reads the whole map; before a retry it asks for what changed since (304
    // when nothing did), as a client that keeps its map does.
    let map: BuyerMap | null = null;
    let hold: { reservationId: string; seats: number[] } | null = null;
    while (!hold) {
      if (over()) return 'cut-off';
      const since = map?.version != null ? `?since=${map.version}` : '';
      const read = await send('availability', 'GET', `/v1/events/${eventId}/availability${since}`, {
        ...headers,
        ...(map?.etag ? { 'if-none-match': map.etag } : {}),
      });
      if (!read || (read.status !== 200 && read.status !== 304) || (read.status === 304 && !map)) return 'failed';
      if (read.status === 200) {
        const etag = typeof read.headers.etag === 'string' ? read.headers.etag : null;
        map = takeAvailability(map, JSON.parse(read.body) as AvailabilityAnswer, etag);
      }
      const bits = map!.bits;
      const seats = pickSeats(bits, layout, want, random);
      if (!seats) {
        // Nothing free: held seats may come back (abandoned holds expire); a buyer keeps looking a while.
        let anyHeld = false;
        for (let n = 0; n < seatCount && !anyHeld; n += 1) anyHeld = statusAt(bits, n) === 1;
        if (!anyHeld || performance.now() >= patienceEnd) return 'none';
        await sleep(500);
        continue;
      }
      const answer = await send('hold', 'POST', `/v1/events/${eventId}/reservations`, headers, {
        seat_ids: seats.map((n) => `s${n}`),
      });
      if (!answer) return 'failed';
      if (answer.status === 201) {
        hold = { reservationId: (JSON.parse(answer.body) as { reservation_id: string }).reservation_id, seats };
        for (const seat of seats) lag.answer(`s${seat}`, answer.at);
      } else if (answer.status === 409) {
        // The seats named taken are marked held in the buyer's map (as the web app does): the
        // next read may be up to one interval old (every design caches it), or a 304.
        const taken = (JSON.parse(answer.body) as { conflicting_seat_ids?: string[] }).conflicting_seat_ids ?? [];
        for (const seatId of taken) setStatus(bits, Number(seatId.slice(1)), 1);
        tries += 1;
        if (tries >= options.holdTriesMax) return 'gave-up';
      } else return 'failed';
    }
    if (random() >= options.confirmShare) {
      for (const seat of hold.seats) abandonedSeats.add(seat); // walks away: the hold expires by itself
      return 'abandoned';
    }
    const answer = await send(
      'confirm',
      'POST',
      `/v1/reservations/${hold.reservationId}/confirm`,
      { ...headers, 'idempotency-key': `fs-${options.userPrefix}-${index}` },
      { payment_method: 'pm_card_visa' },
    );
    if (!answer) {
      confirmErrors += 1;
      return 'failed';
    }
    if (answer.status !== 201) return 'failed';
    confirmed.set(hold.reservationId, (JSON.parse(answer.body) as { booking_id: string }).booking_id);
    const second = secondOf(answer.at);
    second.confirms201 += 1;
    for (const seat of hold.seats) {
      if (!booked.has(seat)) second.seatsBooked += 1;
      booked.set(seat, (booked.get(seat) ?? 0) + 1);
      if (abandonedSeats.has(seat)) resold.add(seat);
    }
    if (soldOutAt === null && booked.size >= seatCount) {
      soldOutAt = answer.at;
      stoppedBy = 'sold-out';
    }
    return 'bought';
  }

  // The line's head: buyers in join order are polled until admitted (the line is first come,
  // first served), a few at a time, and wait in `admittedBuyers` for a free session; the
  // pollers stay at most 2 sessions' worth ahead of the shoppers.
  const admittedBuyers: { index: number; token: string }[] = [];
  let nextToPoll = 0;
  let pollersActive = 0;
  const poller = async () => {
    pollersActive += 1;
    try {
      while (!over() && nextToPoll < options.buyers) {
        if (admittedBuyers.length >= 2 * options.sessions) {
          await sleep(5);
          continue;
        }
        const index = nextToPoll++;
        const token = await admission(index, `Bearer ${tokenOf(index)}`);
        if (token) admittedBuyers.push({ index, token });
        else outcomes['not-admitted'] += 1;
      }
    } finally {
      pollersActive -= 1;
    }
  };

  /** The next buyer to shop: the next in the list, or with a waiting room the next admitted one. */
  const nextShopper = async (): Promise<{ index: number; token: string | null } | null> => {
    if (!options.waitingRoom) return nextBuyer < options.buyers ? { index: nextBuyer++, token: null } : null;
    while (!over()) {
      const admittedBuyer = admittedBuyers.shift();
      if (admittedBuyer) {
        nextBuyer += 1;
        return admittedBuyer;
      }
      if (pollersActive === 0 && nextToPoll >= options.buyers) return null;
      await sleep(5);
    }
    return null;
  };

  const session = async () => {
    while (!over()) {
      const shopper = await nextShopper();
      if (!shopper) {
        stoppedBy ??= 'buyers';
        return;
      }
      outcomes[await buyer(shopper.index, shopper.token)] += 1;
    }
  };

  try {
    await Promise.all([
      joiner(),
      ...Array.from({ length: options.waitingRoom?.joinConnections ?? 0 }, poller),
      ...Array.from({ length: options.sessions }, session),
    ]);
  } finally {
    sseAbort.abort();
    await Promise.all(subscribers);
    await pool.close().catch(() => {});
    await joinPool?.close().catch(() => {});
  }
  const endedAt = performance.now();
  lag.finish();
  const elapsed = (endedAt - startedAt) / 1000;
  const windowS = soldOutAt === null ? elapsed : (soldOutAt - startedAt) / 1000;
  const holdRequests = sent.hold;
  const holds201 = recorders.hold.statuses['201'] ?? 0;
  const holds409 = recorders.hold.statuses['409'] ?? 0;
  let cumulative = 0;
  const allRequests = kinds.reduce((sum, kind) => sum + sent[kind], 0);
  return {
    elapsed_s: round(elapsed, 3),
    stopped_by: stoppedBy ?? 'time',
    sold_out: soldOutAt !== null,
    sell_out_s: soldOutAt === null ? null : round((soldOutAt - startedAt) / 1000, 2),
    window_s: round(windowS, 3),
    buyers: {
      listed: options.buyers,
      joined: options.waitingRoom ? joined : 0,
      admitted,
      started: nextBuyer,
      bought: outcomes.bought,
      abandoned: outcomes.abandoned,
      gave_up_after_409s: outcomes['gave-up'],
      found_no_seat: outcomes.none,
      failed: outcomes.failed,
      not_admitted_in_time: outcomes['not-admitted'],
      cut_off_by_the_end: outcomes['cut-off'],
    },
    seats_booked: booked.size,
    seats_abandoned: abandonedSeats.size,
    abandoned_seats_resold: resold.size,
    oversold_by_answers: [...booked.values()].filter((count) => count > 1).length,
    confirmed,
    confirm_errors: confirmErrors,
    requests: Object.fromEntries(
      kinds.map((kind) => [
        kind,
        recorders[kind].result(sent[kind], elapsed, stoppedBy === 'abort' ? 'abort' : 'time'),
      ]),
    ) as BuyerRunResult['requests'],
    hold_requests: holdRequests,
    holds_201: holds201,
    hold_409_rate: holdRequests === 0 ? 0 : round(holds409 / holdRequests, 4),
    hold_requests_per_s: round(holdRequests / windowS, 1),
    holds_per_s: round(holds201 / windowS, 1),
    seats_per_s: round(booked.size / windowS, 1),
    requests_per_s: round(allRequests / elapsed, 1),
    sse:
      options.sseSubscribers > 0
        ? {
            subscribers: options.sseSubscribers,
            connected: sseConnected,
            lag_ms: summarize(lag.lags),
            unmatched_holds: lag.unmatched,
          }
        : null,
    timeline: perSecond.map((second, index) => {
      cumulative += second?.seatsBooked ?? 0;
      const latencies = summarize(second?.latencies ?? []);
      return {
        second: index,
        hold_requests: second?.holds ?? 0,
        holds_201: second?.holds201 ?? 0,
        holds_409: second?.holds409 ?? 0,
        confirms_201: second?.confirms201 ?? 0,
        seats_booked: cumulative,
        reserve_p50_ms: latencies.count ? latencies.p50 : null,
        reserve_p99_ms: latencies.count ? latencies.p99 : null,
      };
    }),
  };
}
