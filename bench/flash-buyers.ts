// The buyers of the flash-sale benchmark (bench/flash-sale.ts): a bounded pool of buyer
// sessions working through a list of buyers, each buyer joining the waiting room (when the
// event has one), then holding seats one of two ways (the design's `buyers`):
// - pick: reading availability, holding 1 to 4 adjacent seats with a preference for the
//   front rows, retrying on 409 from fresh availability (the changes since the map it has,
//   or 304, where the server offers them);
// - best: asking the server for the best 1 to 6 seats, mostly of a price tier
//   (bench/flash-best.ts), without reading the map;
// then confirming (80%) or walking away (20%: the hold expires and the seats are sold
// again). Every loop is bounded in count (the buyer list, the tries of a buyer) and in time
// (the run's deadline); every request has a timeout. Only the origin given (127.0.0.1) is
// ever asked.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { mintTokenSync, seededRandom } from './fixtures.ts';
import { type BestHold, bestWish, holdBestAvailable, tiersOf } from './flash-best.ts';
import { type BuyerMode, type HoldAttempt, type HoldContext, type HoldOutcome, holdPicked } from './flash-hold.ts';
import {
  type AvailabilityAnswer,
  availabilityAnswerKind,
  type BuyerMap,
  takeAvailability,
  type VenueLayout,
} from './flash-map.ts';
import { ChangeLag, subscribe } from './flash-sse-lag.ts';
import { newPool, Recorder, round, type LoadResult } from './load.ts';
import { summarize, type Summary } from './stats.ts';

export type { VenueLayout } from './flash-map.ts';

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
  /** Pick seats from the map, or ask for the best available (bench/flash-best.ts). */
  mode: BuyerMode;
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
  mode: BuyerMode;
  /** When the first request could go (epoch ms, Date.now's clock): the zero of the scope judge's times. */
  started_at_ms: number;
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
  /** reservation id → booking id of every confirm answered 201 (not in the JSON, as the next two). */
  confirmed: Map<string, string>;
  /** Every hold request, for the scope judge (bench/flash-scope.ts). */
  hold_attempts: HoldAttempt[];
  /** Best available: every hold answered 201, for the check in the store. */
  best_holds: BestHold[];
  /** Best available: 201s whose seats are not as asked (fewer, not adjacent in one row, another tier); must be 0. */
  best_holds_not_as_asked: number;
  /** The first few of them. */
  best_hold_problems: string[];
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
  const holdAttempts: HoldAttempt[] = [];
  const bestHolds: BestHold[] = [];
  let bestNotAsAsked = 0;
  const bestProblems: string[] = [];
  const tiers = tiersOf(layout);
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
  /** performance.now() + this = Date.now(): the hold log's clock, the server's. */
  const clockOffsetMs = Date.now() - performance.now();
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
  ): Promise<{ status: number; body: string; headers: Record<string, unknown>; sentAt: number; at: number } | null> {
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
      return { status: response.statusCode, body: text, headers: response.headers, sentAt, at };
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

  /** Sends one hold request and logs it for the scope judge (times on Date.now's clock, as the server's). */
  async function sendHold(
    headers: Record<string, string>,
    body: unknown,
    scope: { tier: string | null; count: number },
  ) {
    const answer = await send('hold', 'POST', `/v1/events/${eventId}/reservations`, headers, body);
    if (answer) {
      let parsed: { code?: string; detail?: string; reservation_id?: string } = {};
      try {
        parsed = JSON.parse(answer.body) as typeof parsed;
      } catch {
        // not JSON: neither a code nor a reservation
      }
      holdAttempts.push({
        sentMs: clockOffsetMs + answer.sentAt,
        answeredMs: clockOffsetMs + answer.at,
        status: answer.status,
        code: answer.status >= 300 ? (parsed.code ?? null) : null,
        detail: answer.status >= 300 ? (parsed.detail ?? null) : null,
        reservationId: answer.status === 201 ? (parsed.reservation_id ?? null) : null,
        ...scope,
      });
    }
    return answer;
  }

  /** The buyer's copy of the map: the whole map first, then what changed since (304 when nothing did); null on failure. */
  async function readMap(map: BuyerMap | null, headers: Record<string, string>): Promise<BuyerMap | null> {
    const since = map?.version != null ? `?since=${map.version}` : '';
    const read = await send('availability', 'GET', `/v1/events/${eventId}/availability${since}`, {
      ...headers,
      ...(map?.etag ? { 'if-none-match': map.etag } : {}),
    });
    if (!read || (read.status !== 200 && read.status !== 304) || (read.status === 304 && !map)) return null;
    if (read.status === 304) return map;
    const etag = typeof read.headers.etag === 'string' ? read.headers.etag : null;
    return takeAvailability(map, JSON.parse(read.body) as AvailabilityAnswer, etag);
  }

  /** A buyer's hold: picked from the map, or the best available (checked against what was asked). */
  async function holdOf(random: () => number, headers: Record<string, string>): Promise<HoldOutcome> {
    let map: BuyerMap | null = null;
    const context: HoldContext = {
      layout,
      seatCount,
      triesMax: options.holdTriesMax,
      patienceEndMs: performance.now() + options.patienceMs,
      over,
      hold: (body, scope) => sendHold(headers, body, scope),
      readMap: async () => (map = await readMap(map, headers)),
    };
    if (options.mode === 'pick') return holdPicked(context, random);
    const wish = bestWish(random, tiers);
    const outcome = await holdBestAvailable(context, wish);
    if (typeof outcome === 'string') return outcome;
    bestHolds.push({ reservationId: outcome.reservationId, count: wish.count, seatNos: outcome.seatNos });
    if (outcome.problem) {
      bestNotAsAsked += 1;
      if (bestProblems.length < 10) bestProblems.push(`${outcome.reservationId}: ${outcome.problem}`);
    }
    return outcome;
  }

  async function buyer(index: number, admissionToken: string | null): Promise<Outcome> {
    const random = seededRandom((options.seed ^ Math.imul(index + 1, 2_654_435_761)) >>> 0);
    const headers: Record<string, string> = { authorization: `Bearer ${tokenOf(index)}` };
    if (admissionToken) headers['x-admission-token'] = admissionToken;
    const hold = await holdOf(random, headers);
    if (typeof hold === 'string') return hold;
    for (const seat of hold.seatNos) lag.answer(`s${seat}`, hold.answeredAt);
    if (random() >= options.confirmShare) {
      for (const seat of hold.seatNos) abandonedSeats.add(seat); // walks away: the hold expires by itself
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
    for (const seat of hold.seatNos) {
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
    mode: options.mode,
    started_at_ms: round(clockOffsetMs + startedAt, 1),
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
    hold_attempts: holdAttempts,
    best_holds: bestHolds,
    best_holds_not_as_asked: bestNotAsAsked,
    best_hold_problems: bestProblems,
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
