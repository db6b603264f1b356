// Waiting-room policy: who goes in when, and what a waiting buyer is told. Pure: time and
// randomness are passed in. The in-process queue runs these functions; the Redis queue's
// Lua scripts are their twins (adapters/redis/waiting-room.ts).

export interface WaitingRoomSettings {
  enabled: boolean;
  /** People admitted per minute, at most (a steady rate, never a burst above burstOf). */
  admitPerMinute: number;
  /** At most this many admitted shoppers at once (admission not yet used up); null: no cap. */
  maxActiveShoppers: number | null;
  /** How long an admission lasts; the admission token expires with it. */
  admissionWindowMs: number;
  /** The organizer stopped admission for now: the line waits, nobody new is let in. */
  paused: boolean;
  /** Joining needs a solved proof-of-work challenge (ALTCHA): cheap for one browser, dear for a farm. */
  challenge: boolean;
}

export const admissionWindowDefaultMs = 15 * 60_000;
export const admitPerMinuteDefault = 600;

export const waitingRoomOff: WaitingRoomSettings = {
  enabled: false,
  admitPerMinute: admitPerMinuteDefault,
  maxActiveShoppers: null,
  admissionWindowMs: admissionWindowDefaultMs,
  paused: false,
  challenge: false,
};

/**
 * The admission meter is a token bucket of "places": it refills at the set rate and holds
 * at most burstOf places, so in any interval of length T at most burst + rate·T people are
 * admitted, however often or seldom (and by however many processes) it is ticked.
 * The burst is one tick's worth of places plus one person: a tick leaves the fraction of a
 * place it could not admit on the meter (under 1), and the next tick's worth must fit on top
 * of it, else it spills over and the rate is never reached (with one tick's worth, 2.5 at
 * 600/min and 250 ms ticks, each tick admitted 2: 480/min).
 */
export function burstOf(admitPerMinute: number, tickMs: number): number {
  return (admitPerMinute * tickMs) / 60_000 + 1;
}

export interface AdmissionMeter {
  /** When the meter was last refilled (epoch ms); null before the first tick. */
  refilledAtMs: number | null;
  places: number;
}

/**
 * Refills the meter up to nowMs. A clock that steps back (another process's) adds nothing,
 * so skewed clocks cannot add up to more than the rate.
 */
export function refillMeter(meter: AdmissionMeter, nowMs: number, ratePerMs: number, burst: number): AdmissionMeter {
  if (meter.refilledAtMs === null) return { refilledAtMs: nowMs, places: burst };
  if (nowMs <= meter.refilledAtMs) return meter;
  return { refilledAtMs: nowMs, places: Math.min(burst, meter.places + (nowMs - meter.refilledAtMs) * ratePerMs) };
}

/** How many to admit now: whole places on the meter, the room under the cap, and the line. */
export function admissionsDue(
  places: number,
  activeShoppers: number,
  maxActiveShoppers: number | null,
  waiting: number,
  batchMax: number,
): number {
  const underCap = maxActiveShoppers === null ? Infinity : Math.max(0, maxActiveShoppers - activeShoppers);
  return Math.max(0, Math.min(Math.floor(places), underCap, waiting, batchMax));
}

/**
 * Where a buyer who joins at nowMs stands. Before the sale opens everyone draws a random
 * key in [0, 1): ordering the pre-queue by independent uniform keys is a uniformly random
 * shuffle, decided by nobody's arrival time. From the opening on, places are handed out in
 * arrival order after the whole pre-queue (keys 1, 2, 3…).
 */
export function queueKeyFor<Arrival>(
  nowMs: number,
  saleOpensAtMs: number,
  draw: () => number,
  arrival: () => Arrival,
): number | Arrival {
  return nowMs < saleOpensAtMs ? draw() : arrival();
}

/** An organizer's settings: given members replace the current ones. */
export interface WaitingRoomInput {
  enabled: boolean;
  admit_per_minute?: number;
  max_active_shoppers?: number | null;
  admission_window_seconds?: number;
  paused?: boolean;
  challenge?: boolean;
}

export function waitingRoomSettings(input: WaitingRoomInput, current: WaitingRoomSettings): WaitingRoomSettings {
  return {
    enabled: input.enabled,
    admitPerMinute: input.admit_per_minute ?? current.admitPerMinute,
    maxActiveShoppers: input.max_active_shoppers === undefined ? current.maxActiveShoppers : input.max_active_shoppers,
    admissionWindowMs:
      input.admission_window_seconds === undefined ? current.admissionWindowMs : input.admission_window_seconds * 1000,
    paused: input.paused ?? current.paused,
    challenge: input.challenge ?? current.challenge,
  };
}

export function waitingRoomView(settings: WaitingRoomSettings) {
  return {
    enabled: settings.enabled,
    admit_per_minute: settings.admitPerMinute,
    max_active_shoppers: settings.maxActiveShoppers,
    admission_window_seconds: settings.admissionWindowMs / 1000,
    paused: settings.paused,
    challenge: settings.challenge,
  };
}

/** A rough wait: the people ahead at the set rate (a cap can only make it longer). */
export function estimatedWaitSeconds(ahead: number, admitPerMinute: number): number {
  return Math.ceil(((ahead + 1) * 60) / admitPerMinute);
}

/** An unbiased draw in [0, 1) with 52 random bits, from a source of 32-bit words. */
export function drawQueueKey(randomWord: () => number): number {
  const high = randomWord() >>> 12; // 20 bits
  const low = randomWord() >>> 0; // 32 bits
  return (high * 2 ** 32 + low) / 2 ** 52;
}
