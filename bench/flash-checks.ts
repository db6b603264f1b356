// The flash sale's end-state checks (bench/flash-sale.ts), after each design's run: the
// service's database (PostgreSQL, or the stopped embedded server's PGlite), with every hold
// request judged against the reservations' history (bench/flash-scope.ts); a classic
// design's own store (GET /v1/bench/check on the baseline server). From the buyers' side, for
// every design: seats that two confirms were answered 201 for.
import { request } from 'undici';
import type { BaselineMode } from './baseline-server.ts';
import type { BuyerRunResult, VenueLayout } from './flash-buyers.ts';
import { designs } from './flash-designs.ts';
import { checkBestHolds, type HoldJudgement, judgeHolds } from './flash-scope.ts';
import { countOversold, countPartialHolds, type Query } from './verify.ts';

export interface StoreCheck {
  ok: boolean;
  /** Judged (its problems fail the run) for the service and the atomic designs, reported for setnx. */
  judged: boolean;
  oversold_seats: number;
  partial_holds: number;
  /** setnx: holds that took some of their seats before meeting a taken one. */
  partial_hold_attempts: number;
  bookings: number;
  booked_seats: number;
  problems: string[];
  /**
   * Best available's 201s (the service with best-available buyers): seats not as asked by the
   * answer (fewer, not adjacent in one row, another tier) and not held as answered in the store
   * (partial); both must be 0.
   */
  best_holds?: { checked: number; not_as_asked: number; partial_in_store: number };
  /** Every hold request judged against the store's history (the service designs; bench/flash-scope.ts). */
  holds?: HoldJudgement;
}

/**
 * The service's end state in its database: no seat in two live or confirmed reservations, no
 * live hold missing a seat, no seat in two bookings, and every confirm the buyers read as 201
 * is a booking (a confirm that got no answer may or may not have booked); best available's
 * holds as asked and whole. Then every hold request judged against the reservations' history.
 */
export async function checkService(
  query: Query,
  eventId: string,
  result: BuyerRunResult,
  layout: VenueLayout,
): Promise<StoreCheck> {
  const now = new Date(Date.now() + 200); // holds ending this instant may be mid-expiry: judged just after
  const oversold = await countOversold(query, eventId, now);
  const partial = await countPartialHolds(query, eventId, now);
  const one = async (text: string) => (await query<{ n: number }>(text, [eventId]))[0]?.n ?? 0;
  const inTwoBookings = await one(
    `SELECT count(*)::int AS n FROM (SELECT s FROM bookings, unnest(seat_nos) s WHERE event_id = $1
     GROUP BY s HAVING count(*) > 1) d`,
  );
  const bookingIds = new Set(
    (await query<{ id: string }>(`SELECT id::text AS id FROM bookings WHERE event_id = $1`, [eventId])).map(
      (row) => row.id,
    ),
  );
  const bookedSeats = await one(`SELECT count(*)::int AS n FROM booked_seats WHERE event_id = $1`);
  const problems: string[] = [];
  if (oversold > 0) problems.push(`${oversold} seats in more than one live or confirmed reservation (oversold)`);
  if (partial > 0) problems.push(`${partial} live holds do not hold all their seats (partial holds)`);
  if (inTwoBookings > 0) problems.push(`${inTwoBookings} seats in two bookings`);
  if (result.oversold_by_answers > 0) problems.push(`${result.oversold_by_answers} seats confirmed 201 twice`);
  const missing = [...result.confirmed.values()].filter((id) => !bookingIds.has(id)).length;
  if (missing > 0) problems.push(`${missing} confirms answered 201 have no booking`);
  if (bookingIds.size > result.confirmed.size + result.confirm_errors)
    problems.push(`${bookingIds.size} bookings for ${result.confirmed.size} confirm 201s`);
  if (bookedSeats < result.seats_booked)
    problems.push(`${bookedSeats} booked seats in booked_seats, the buyers were answered ${result.seats_booked}`);
  const best = await checkBestHolds(query, eventId, result.best_holds);
  if (result.best_holds_not_as_asked > 0)
    problems.push(
      `${result.best_holds_not_as_asked} best-available holds not as asked: ${result.best_hold_problems.join('; ')}`,
    );
  if (best.partial > 0)
    problems.push(`${best.partial} best-available holds partial in the store: ${best.problems.join('; ')}`);
  return {
    ok: problems.length === 0,
    judged: true,
    ...(result.mode === 'best'
      ? {
          best_holds: {
            checked: best.checked,
            not_as_asked: result.best_holds_not_as_asked,
            partial_in_store: best.partial,
          },
        }
      : {}),
    holds: await judgeHolds(query, eventId, layout, result.started_at_ms, result.hold_attempts),
    oversold_seats: Math.max(oversold, inTwoBookings, result.oversold_by_answers),
    partial_holds: partial,
    partial_hold_attempts: 0,
    bookings: bookingIds.size,
    booked_seats: bookedSeats,
    problems,
  };
}

/** A baseline's end state from its own store (GET /v1/bench/check) and the buyers' answers. */
export async function checkBaseline(origin: string, mode: BaselineMode, eventId: string, result: BuyerRunResult) {
  const response = await request(`${origin}/v1/bench/check?event_id=${eventId}`, { headersTimeout: 60_000 });
  const body = (await response.body.json()) as {
    bookings: number;
    booked_seats: number;
    oversold_seats: number;
    partial_holds_live: number;
    partial_hold_attempts: number;
  };
  const oversold = Math.max(body.oversold_seats, result.oversold_by_answers);
  const partial = body.partial_holds_live + body.partial_hold_attempts;
  const problems: string[] = [];
  if (oversold > 0) problems.push(`${oversold} seats sold twice (oversold)`);
  if (body.partial_holds_live > 0) problems.push(`${body.partial_holds_live} live holds miss some of their seats`);
  if (body.partial_hold_attempts > 0)
    problems.push(`${body.partial_hold_attempts} holds held part of their seats before giving them back`);
  if (body.bookings < result.confirmed.size)
    problems.push(`${body.bookings} bookings for ${result.confirmed.size} confirm 201s`);
  return {
    ok: problems.length === 0,
    judged: designs[mode].atomic,
    oversold_seats: oversold,
    partial_holds: partial,
    partial_hold_attempts: body.partial_hold_attempts,
    bookings: body.bookings,
    booked_seats: body.booked_seats,
    problems,
  };
}
