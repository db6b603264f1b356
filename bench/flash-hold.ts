// How a flash-sale buyer (bench/flash-buyers.ts) holds seats, one way per buyer mode: pick
// them from the map it reads (here), or ask the server for the best available
// (bench/flash-best.ts). Both ask through a HoldContext, which sends the requests (logging
// each as a HoldAttempt for the scope judge, bench/flash-scope.ts) and keeps the buyer's map.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { anyHeld, type BuyerMap, pickSeats, seatsWanted, setStatus, type VenueLayout } from './flash-map.ts';

/** How a design's buyers ask for seats: pick them from the map they read, or ask the server for the best available. */
export type BuyerMode = 'pick' | 'best';

/** One hold request as sent and answered (the ledger the scope judge reads; not in the JSON). */
export interface HoldAttempt {
  /** Epoch ms on the machine's clock (Date.now, as the server stamps reservations): sent, and answer read. */
  sentMs: number;
  answeredMs: number;
  status: number;
  /** The problem's code and detail of a non-2xx answer. */
  code: string | null;
  detail: string | null;
  /** Where the request could be served from: a price tier, or null (any seat of the event). */
  tier: string | null;
  /** Seats asked for. */
  count: number;
  /** A 201's reservation: its created_at in the store must fall in the window (the clocks agree). */
  reservationId: string | null;
}

/** What a buyer's way of holding needs of its session. */
export interface HoldContext {
  layout: VenueLayout;
  seatCount: number;
  triesMax: number;
  /** performance.now() after which a buyer who found nothing stops waiting for held seats to come back. */
  patienceEndMs: number;
  over(): boolean;
  /** Sends one hold request (logged as a HoldAttempt); null when it got no answer. */
  hold(
    body: unknown,
    scope: { tier: string | null; count: number },
  ): Promise<{ status: number; body: string; at: number } | null>;
  /** Reads availability into the buyer's copy of the map (the whole map, then the changes since); null when that failed. */
  readMap(): Promise<BuyerMap | null>;
}

export type HoldOutcome =
  { reservationId: string; seatNos: number[]; answeredAt: number } | 'gave-up' | 'none' | 'failed' | 'cut-off';

/**
 * Pick from the map: read it, name 1 to 4 free seats (pickSeats), on 409 mark the seats
 * named taken and read again; with nothing free but some held, look again every 500 ms
 * while patience lasts. At most triesMax holds.
 */
export async function holdPicked(ctx: HoldContext, random: () => number): Promise<HoldOutcome> {
  const want = seatsWanted(random);
  let tries = 0;
  for (;;) {
    if (ctx.over()) return 'cut-off';
    const map = await ctx.readMap();
    if (!map) return 'failed';
    const seatNos = pickSeats(map.bits, ctx.layout, want, random);
    if (!seatNos) {
      // Nothing free: held seats may come back (abandoned holds expire); a buyer keeps looking a while.
      if (!anyHeld(map.bits, ctx.seatCount) || performance.now() >= ctx.patienceEndMs) return 'none';
      await sleep(500);
      continue;
    }
    const answer = await ctx.hold({ seat_ids: seatNos.map((n) => `s${n}`) }, { tier: null, count: want });
    if (!answer) return 'failed';
    if (answer.status === 201) {
      const { reservation_id } = JSON.parse(answer.body) as { reservation_id: string };
      return { reservationId: reservation_id, seatNos, answeredAt: answer.at };
    }
    if (answer.status !== 409) return 'failed';
    // The seats named taken are marked held in the buyer's map (as the web app does): the
    // next read may be up to one interval old (every design caches it), or a 304.
    const taken = (JSON.parse(answer.body) as { conflicting_seat_ids?: string[] }).conflicting_seat_ids ?? [];
    for (const seatId of taken) setStatus(map.bits, Number(seatId.slice(1)), 1);
    tries += 1;
    if (tries >= ctx.triesMax) return 'gave-up';
  }
}
