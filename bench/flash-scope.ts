// The flash sale's hold answers judged against the store's history (issue 19's bar: a
// best-available buyer is refused, 409, only when the scope it asked for has no seats left).
//
// After a service design's run, its event's reservations (PostgreSQL, or the embedded
// server's PGlite) say which seats were taken at every instant: a seat is taken from its
// reservation's created_at (the server's clock when the request began, before the gate took
// the seat) until its expires_at (the gate and PostgreSQL free it at that instant), for
// ever once confirmed, until it ended when cancelled. Replaying them in time order, every
// hold request is looked at over its own window, from sending to reading the answer (the
// server decided at some instant of it): a 409 is explained when, at some instant of that
// window, its scope (the price tier asked for, or the whole event) had no free seat at all;
// otherwise it was refused while the scope still had seats. A second, looser reading asks
// whether the scope had room: `count` adjacent free seats in one row (best available holds
// seats together), since a tier down to scattered single seats cannot seat a pair.
// Not seen: a seat the gate took provisionally for a hold PostgreSQL then refused (a few
// milliseconds, no reservation). Times are the machine's Date.now on both sides.
import { type BestHold, tiersOf } from './flash-best.ts';
import type { HoldAttempt } from './flash-hold.ts';
import { priceTierOfSection } from './fixtures.ts';
import type { VenueLayout } from './flash-map.ts';
import { round } from './load.ts';
import type { Query } from './verify.ts';

/** The hold requests of one scope (a price tier, or `any`: the whole event), judged. */
export interface ScopeTally {
  scope: string;
  seats: number;
  requests: number;
  answered_201: number;
  answered_409: number;
  /** 409s whose scope had no free seat at some instant of the request: refused rightly. */
  refused_scope_full: number;
  /** 409s while the scope had a free seat throughout the request. */
  refused_with_seats_free: number;
  /** 409s whose scope had no `count` adjacent free seats in a row at some instant. */
  refused_without_room: number;
  /** 409s while the scope had `count` adjacent free seats in a row throughout. */
  refused_with_room: number;
  /** When the scope first had no free seat, s after the run's first request (null: never in the run). */
  first_full_s: number | null;
}

export interface HoldJudgement extends Omit<ScopeTally, 'scope' | 'seats' | 'first_full_s'> {
  reservations: number;
  /** refused_with_seats_free / (requests − refused_scope_full): issue 19's bar, under 5% for best available. */
  rate_with_seats_free: number | null;
  /** refused_with_room / (requests − refused_without_room). */
  rate_with_room: number | null;
  /** First instant no seat of the event was free (every seat held or booked), s after the run's first request. */
  all_taken_s: number | null;
  /**
   * The same for the requests sent while more than a tenth of their scope was free: the sale
   * before the last tenth of each scope, where a scope fragmented into lone seats (no room for
   * a group together) cannot weigh.
   */
  before_last_tenth: {
    requests: number;
    refused_scope_full: number;
    refused_with_seats_free: number;
    rate: number | null;
  };
  /** Per price tier asked for, and `any` (no tier; every pick-from-the-map request). */
  scopes: ScopeTally[];
  /**
   * The 409s refused while their scope had a free seat, by the shape of the problem's detail
   * (numbers, quoted names and seat ids blanked): which of the server's refusals they were.
   */
  refused_with_seats_free_by_detail: Record<string, { refused: number; with_room: number }>;
  /**
   * The clocks agree: each 201's reservation was stamped (created_at) between sending its
   * request and reading the answer, within 1 ms (Date.now's whole milliseconds); the worst miss.
   */
  clock_check: { holds: number; outside_window: number; worst_ms: number };
}

interface ReservationRow {
  id: string;
  seat_nos: number[];
  status: string;
  created_ms: number;
  expires_ms: number;
  ended_ms: number | null;
}

interface Change {
  atMs: number;
  seatNo: number;
  taken: boolean;
}

/** The seats taken and freed by the event's reservations, in time order (frees first at one instant). */
async function changesOf(
  query: Query,
  eventId: string,
): Promise<{ changes: Change[]; createdMs: Map<string, number> }> {
  const rows = await query<ReservationRow>(
    `SELECT id::text AS id, seat_nos, status,
            extract(epoch FROM created_at)::float8 * 1000 AS created_ms,
            extract(epoch FROM expires_at)::float8 * 1000 AS expires_ms,
            extract(epoch FROM ended_at)::float8 * 1000 AS ended_ms
     FROM reservations WHERE event_id = $1`,
    [eventId],
  );
  const changes: Change[] = [];
  for (const row of rows) {
    const endMs =
      row.status === 'confirmed'
        ? Infinity
        : row.status === 'cancelled' && row.ended_ms !== null
          ? Math.min(row.ended_ms, row.expires_ms)
          : row.expires_ms;
    if (endMs <= row.created_ms) continue;
    for (const seatNo of row.seat_nos) {
      changes.push({ atMs: row.created_ms, seatNo, taken: true });
      if (endMs !== Infinity) changes.push({ atMs: endMs, seatNo, taken: false });
    }
  }
  changes.sort((a, b) => a.atMs - b.atMs || Number(a.taken) - Number(b.taken));
  return { changes, createdMs: new Map(rows.map((row) => [row.id, row.created_ms])) };
}

/**
 * Free seats per scope and, per scope, how many rows have a run of at least k adjacent free
 * seats (k = 1 … seatsPerRow), kept as seats are taken and freed.
 */
class ScopeState {
  readonly scopeNames: string[];
  readonly seatsIn: number[];
  readonly freeIn: number[];
  private readonly takenBy: Uint16Array;
  private readonly rowMaxRun: Uint16Array;
  /** [scope * (seatsPerRow + 1) + k]: rows of the scope with a free run of k or more. */
  private readonly rowsWithRun: Int32Array;
  private readonly tierOfSection: number[];

  constructor(private readonly layout: VenueLayout) {
    const tiers = tiersOf(layout);
    this.scopeNames = [...tiers, 'any'];
    this.tierOfSection = Array.from({ length: layout.sections }, (_, s) => tiers.indexOf(priceTierOfSection(s)));
    const rowCount = layout.sections * layout.rows;
    this.takenBy = new Uint16Array(rowCount * layout.seatsPerRow);
    this.rowMaxRun = new Uint16Array(rowCount).fill(layout.seatsPerRow);
    this.seatsIn = this.scopeNames.map(() => 0);
    this.rowsWithRun = new Int32Array(this.scopeNames.length * (layout.seatsPerRow + 1));
    for (let row = 0; row < rowCount; row += 1) {
      for (const scope of this.scopesOfRow(row)) {
        this.seatsIn[scope]! += layout.seatsPerRow;
        for (let k = 1; k <= layout.seatsPerRow; k += 1) this.rowsWithRun[scope * (layout.seatsPerRow + 1) + k]! += 1;
      }
    }
    this.freeIn = [...this.seatsIn];
  }

  scopeOf(tier: string | null): number {
    return tier === null ? this.scopeNames.length - 1 : this.scopeNames.indexOf(tier);
  }

  hasRoom(scope: number, count: number): boolean {
    return count <= this.layout.seatsPerRow && this.rowsWithRun[scope * (this.layout.seatsPerRow + 1) + count]! > 0;
  }

  apply(change: Change) {
    const wasFree = this.takenBy[change.seatNo] === 0;
    this.takenBy[change.seatNo] = Math.max(0, this.takenBy[change.seatNo]! + (change.taken ? 1 : -1));
    const isFree = this.takenBy[change.seatNo] === 0;
    if (wasFree === isFree) return;
    const row = Math.floor(change.seatNo / this.layout.seatsPerRow);
    const scopes = this.scopesOfRow(row);
    for (const scope of scopes) this.freeIn[scope]! += isFree ? 1 : -1;
    let longest = 0;
    let run = 0;
    for (let seatNo = row * this.layout.seatsPerRow; seatNo < (row + 1) * this.layout.seatsPerRow; seatNo += 1) {
      run = this.takenBy[seatNo] === 0 ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    const before = this.rowMaxRun[row]!;
    this.rowMaxRun[row] = longest;
    for (const scope of scopes) {
      const base = scope * (this.layout.seatsPerRow + 1);
      for (let k = Math.min(before, longest) + 1; k <= Math.max(before, longest); k += 1)
        this.rowsWithRun[base + k]! += longest > before ? 1 : -1;
    }
  }

  private scopesOfRow(row: number): [number, number] {
    return [this.tierOfSection[Math.floor(row / this.layout.rows)]!, this.scopeNames.length - 1];
  }
}

/** A problem's detail with its numbers, quoted names and seat ids blanked, to count refusals by kind. */
const detailShape = (detail: string | null) =>
  detail === null
    ? '(no detail)'
    : detail
        .replace(/"[^"]*"/g, '"…"')
        .replace(/\bs\d+(, s\d+)*/g, 's…')
        .replace(/\d+/g, 'N');

/** Every hold request of a run judged against the event's reservations (see the top of the file). */
export async function judgeHolds(
  query: Query,
  eventId: string,
  layout: VenueLayout,
  startedAtMs: number,
  attempts: readonly HoldAttempt[],
): Promise<HoldJudgement> {
  const { changes, createdMs } = await changesOf(query, eventId);
  const state = new ScopeState(layout);
  const order = [...attempts.keys()].sort((a, b) => attempts[a]!.sentMs - attempts[b]!.sentMs);
  const scopeOfAttempt = attempts.map((attempt) => state.scopeOf(attempt.tier));
  const sawFull = new Uint8Array(attempts.length);
  const sawNoRoom = new Uint8Array(attempts.length);
  const early = new Uint8Array(attempts.length); // sent while more than a tenth of its scope was free
  const firstFullMs: (number | null)[] = state.scopeNames.map(() => null);
  let open: number[] = [];
  let next = 0;
  for (let c = 0; ;) {
    const untilMs = c < changes.length ? changes[c]!.atMs : Infinity;
    // The state holds until untilMs: every request whose window overlaps it is looked at.
    while (next < order.length && attempts[order[next]!]!.sentMs < untilMs) {
      const index = order[next++]!;
      const scope = scopeOfAttempt[index]!;
      if (state.freeIn[scope]! * 10 > state.seatsIn[scope]!) early[index] = 1;
      open.push(index);
    }
    for (const index of open) {
      const scope = scopeOfAttempt[index]!;
      if (state.freeIn[scope] === 0) sawFull[index] = 1;
      if (!state.hasRoom(scope, attempts[index]!.count)) sawNoRoom[index] = 1;
    }
    open = open.filter((index) => attempts[index]!.answeredMs >= untilMs);
    if (untilMs === Infinity) break;
    for (; c < changes.length && changes[c]!.atMs === untilMs; c += 1) state.apply(changes[c]!);
    state.freeIn.forEach((free, scope) => {
      if (free === 0 && firstFullMs[scope] === null) firstFullMs[scope] = untilMs;
    });
  }

  const tallies = state.scopeNames.map((scope, index): ScopeTally => ({
    scope,
    seats: state.seatsIn[index]!,
    requests: 0,
    answered_201: 0,
    answered_409: 0,
    refused_scope_full: 0,
    refused_with_seats_free: 0,
    refused_without_room: 0,
    refused_with_room: 0,
    first_full_s: firstFullMs[index] == null ? null : round((firstFullMs[index]! - startedAtMs) / 1000, 2),
  }));
  const total: Omit<ScopeTally, 'scope' | 'seats' | 'first_full_s'> = {
    requests: 0,
    answered_201: 0,
    answered_409: 0,
    refused_scope_full: 0,
    refused_with_seats_free: 0,
    refused_without_room: 0,
    refused_with_room: 0,
  };
  const byDetail: HoldJudgement['refused_with_seats_free_by_detail'] = {};
  const beforeLastTenth = { requests: 0, refused_scope_full: 0, refused_with_seats_free: 0 };
  attempts.forEach((attempt, index) => {
    if (early[index]) {
      beforeLastTenth.requests += 1;
      if (attempt.status === 409 && sawFull[index]) beforeLastTenth.refused_scope_full += 1;
      if (attempt.status === 409 && !sawFull[index]) beforeLastTenth.refused_with_seats_free += 1;
    }
    if (attempt.status === 409 && !sawFull[index]) {
      const shape = detailShape(attempt.detail);
      byDetail[shape] ??= { refused: 0, with_room: 0 };
      byDetail[shape].refused += 1;
      if (!sawNoRoom[index]) byDetail[shape].with_room += 1;
    }
    for (const tally of [tallies[scopeOfAttempt[index]!]!, total]) {
      tally.requests += 1;
      if (attempt.status === 201) tally.answered_201 += 1;
      if (attempt.status !== 409) continue;
      tally.answered_409 += 1;
      if (sawFull[index]) tally.refused_scope_full += 1;
      else tally.refused_with_seats_free += 1;
      if (sawNoRoom[index]) tally.refused_without_room += 1;
      else tally.refused_with_room += 1;
    }
  });
  const rate = (refused: number, excused: number) =>
    total.requests - excused === 0 ? null : round(refused / (total.requests - excused), 4);
  const any = state.scopeNames.length - 1;
  const clock = { holds: 0, outside_window: 0, worst_ms: 0 };
  for (const attempt of attempts) {
    const created = attempt.reservationId === null ? undefined : createdMs.get(attempt.reservationId);
    if (created === undefined) continue;
    clock.holds += 1;
    const miss = Math.max(attempt.sentMs - 1 - created, created - attempt.answeredMs - 1, 0);
    if (miss > 0) clock.outside_window += 1;
    clock.worst_ms = Math.max(clock.worst_ms, round(miss, 1));
  }
  return {
    reservations: createdMs.size,
    refused_with_seats_free_by_detail: byDetail,
    before_last_tenth: {
      ...beforeLastTenth,
      rate:
        beforeLastTenth.requests === beforeLastTenth.refused_scope_full
          ? null
          : round(
              beforeLastTenth.refused_with_seats_free / (beforeLastTenth.requests - beforeLastTenth.refused_scope_full),
              4,
            ),
    },
    clock_check: clock,
    ...total,
    rate_with_seats_free: rate(total.refused_with_seats_free, total.refused_scope_full),
    rate_with_room: rate(total.refused_with_room, total.refused_without_room),
    all_taken_s: firstFullMs[any] == null ? null : round((firstFullMs[any]! - startedAtMs) / 1000, 2),
    scopes: tallies.filter((tally) => tally.requests > 0 || tally.scope !== 'any'),
  };
}

/**
 * Best available's holds in the store: each 201's reservation holds exactly the seats it
 * answered, as many as asked (none partial).
 */
export async function checkBestHolds(
  query: Query,
  eventId: string,
  holds: readonly BestHold[],
): Promise<{ checked: number; partial: number; problems: string[] }> {
  if (holds.length === 0) return { checked: 0, partial: 0, problems: [] };
  const rows = await query<{ id: string; seat_nos: number[] }>(
    `SELECT id::text AS id, seat_nos FROM reservations WHERE event_id = $1 AND id = ANY($2::uuid[])`,
    [eventId, holds.map((hold) => hold.reservationId)],
  );
  const stored = new Map(rows.map((row) => [row.id, [...row.seat_nos].sort((a, b) => a - b).join(',')]));
  const problems: string[] = [];
  let partial = 0;
  for (const hold of holds) {
    const seats = stored.get(hold.reservationId);
    const answered = [...hold.seatNos].sort((a, b) => a - b).join(',');
    if (seats === answered && hold.seatNos.length === hold.count) continue;
    partial += 1;
    if (problems.length < 10)
      problems.push(
        `${hold.reservationId}: ${seats === undefined ? 'no reservation' : `stored seats ${seats}`}, answered ${answered} for ${hold.count} asked`,
      );
  }
  return { checked: holds.length, partial, problems };
}
