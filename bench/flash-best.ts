// Best-available buyers of the flash sale (bench/flash-buyers.ts in mode 'best', issue 19):
// a buyer says how many seats and, mostly, which price tier, and the server chooses and
// holds them in one step (POST …/reservations {best_available}); no seat map is read
// first. What such a buyer wants, how it asks (and asks again), and the check of every 201
// against what was asked. The 409s are judged afterwards against the store's history
// (bench/flash-scope.ts), from the HoldAttempt of every hold request (bench/flash-hold.ts).
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { priceTierOfSection } from './fixtures.ts';
import type { HoldContext, HoldOutcome } from './flash-hold.ts';
import { anyHeld, hasRoom, type VenueLayout } from './flash-map.ts';

/** A best-available hold answered 201: checked against the store afterwards (no partial hold). */
export interface BestHold {
  reservationId: string;
  count: number;
  seatNos: number[];
}

export interface BestWish {
  count: number;
  /** null: any seat of the event. */
  tier: string | null;
}

/** The price tiers of a layout's sections, in eventBody's order (front, middle, back). */
export const tiersOf = (layout: VenueLayout) => [
  ...new Set(Array.from({ length: layout.sections }, (_, section) => priceTierOfSection(section))),
];

/** Of the buyers who name a tier, how many name each (the event's tiers in order; the front is most wanted). */
const tierWeights = [3, 2, 1];

/**
 * 1 seat 8%, 2 35%, 3 10%, 4 30%, 5 5%, 6 12% (pairs and fours, as buyers come); a quarter
 * take any seat, the rest name a price tier of the event, front 3 : middle 2 : back 1.
 */
export function bestWish(random: () => number, tiers: readonly string[]): BestWish {
  const u = random();
  const count = u < 0.08 ? 1 : u < 0.43 ? 2 : u < 0.53 ? 3 : u < 0.83 ? 4 : u < 0.88 ? 5 : 6;
  const v = random();
  if (v < 0.25 || tiers.length === 0) return { count, tier: null };
  const weights = tiers.map((_, index) => tierWeights[index] ?? 1);
  let draw = ((v - 0.25) / 0.75) * weights.reduce((sum, weight) => sum + weight, 0);
  for (const [index, tier] of tiers.entries()) {
    draw -= weights[index]!;
    if (draw < 0) return { count, tier };
  }
  return { count, tier: tiers[tiers.length - 1]! };
}

/**
 * What is wrong with a best-available 201 (null: nothing): its seats must be as many as
 * asked (a partial hold otherwise), adjacent in one row (together, the default) and in the
 * tier asked for.
 */
export function notAsAsked(seatNos: readonly number[], wish: BestWish, layout: VenueLayout): string | null {
  if (seatNos.length !== wish.count) return `${seatNos.length} seats for ${wish.count} asked (partial)`;
  const rowOf = (seatNo: number) => Math.floor(seatNo / layout.seatsPerRow);
  const sorted = [...seatNos].sort((a, b) => a - b);
  if (
    sorted.some(
      (seatNo, index) => index > 0 && (seatNo !== sorted[index - 1]! + 1 || rowOf(seatNo) !== rowOf(sorted[0]!)),
    )
  )
    return `seats ${sorted.map((seatNo) => `s${seatNo}`).join(',')} not adjacent in one row`;
  const sectionOf = (seatNo: number) => Math.floor(seatNo / (layout.rows * layout.seatsPerRow));
  const outside =
    wish.tier === null ? [] : sorted.filter((seatNo) => priceTierOfSection(sectionOf(seatNo)) !== wish.tier);
  if (outside.length > 0) return `seats ${outside.map((seatNo) => `s${seatNo}`).join(',')} not in tier ${wish.tier}`;
  return null;
}

/** A hold's outcome, a 201 with what is wrong with it (null: nothing; see notAsAsked). */
export type BestHoldOutcome =
  Extract<HoldOutcome, string> | (Extract<HoldOutcome, object> & { problem: string | null });

/**
 * Asks for the wish; on 409 NOT_ENOUGH_SEATS with a tier, asks again for any tier; with
 * none left anywhere, waits (reading the map every 500 ms, as a pick-from-the-map buyer
 * does) until a row shows room for it again (an abandoned hold expired) and asks again,
 * while seats are held and patience lasts. At most triesMax requests.
 */
export async function holdBestAvailable(ctx: HoldContext, wish: BestWish): Promise<BestHoldOutcome> {
  let tier = wish.tier;
  for (let tries = 1; ; tries += 1) {
    if (ctx.over()) return 'cut-off';
    const best_available = tier === null ? { count: wish.count } : { count: wish.count, price_tier: tier };
    const answer = await ctx.hold({ best_available }, { tier, count: wish.count });
    if (!answer) return 'failed';
    if (answer.status === 201) {
      const body = JSON.parse(answer.body) as { reservation_id: string; seats: { seat_id: string }[] };
      const seatNos = body.seats.map((seat) => Number(seat.seat_id.slice(1)));
      return {
        reservationId: body.reservation_id,
        seatNos,
        answeredAt: answer.at,
        problem: notAsAsked(seatNos, { count: wish.count, tier }, ctx.layout),
      };
    }
    if (answer.status !== 409) return 'failed';
    if (tries >= ctx.triesMax) return 'gave-up';
    if (tier !== null) {
      tier = null; // the tier is taken: any seat will do
      continue;
    }
    const waited = await waitForRoom(ctx, wish.count);
    if (waited !== 'room') return waited;
  }
}

async function waitForRoom(ctx: HoldContext, count: number): Promise<'room' | 'none' | 'failed' | 'cut-off'> {
  for (;;) {
    await sleep(500);
    if (ctx.over()) return 'cut-off';
    const map = await ctx.readMap();
    if (!map) return 'failed';
    if (hasRoom(map.bits, ctx.layout, count)) return 'room';
    if (!anyHeld(map.bits, ctx.seatCount) || performance.now() >= ctx.patienceEndMs) return 'none';
  }
}
