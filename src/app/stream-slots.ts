// Live streams per client: one address (and one signed-in user) may hold at most so many
// seat-map and waiting-room streams at once in this process, so no single host fills the
// process-wide caps (SSE_MAX_SUBSCRIBERS) that every viewer shares.
//
// Taking a slot checks and counts in one synchronous step: connects that arrive together
// cannot all pass the check before any of them is counted. A slot is given back by the
// function take() returns, once, when its stream ends (or fails to open).
import { DomainError } from '../domain/errors.ts';

export interface StreamSlotLimits {
  /** Streams per client address; 0: no limit. */
  perAddressMax: number;
  /** Streams per signed-in user; 0: no limit. */
  perUserMax: number;
}

/** How long a refused client is asked to wait: a slot comes back when one of its streams ends. */
const retryAfterMs = 5_000;

export class StreamSlots {
  private readonly byAddress = new Map<string, number>();
  private readonly byUser = new Map<string, number>();

  constructor(private readonly limits: StreamSlotLimits) {}

  /** A slot for one stream, or TOO_MANY_STREAMS; returns the function that gives it back. */
  take(address: string, userId: string | null): () => void {
    const { perAddressMax, perUserMax } = this.limits;
    if (perAddressMax > 0 && (this.byAddress.get(address) ?? 0) >= perAddressMax) {
      throw tooMany('address', `this address has ${perAddressMax} live streams open; close one first`);
    }
    if (userId !== null && perUserMax > 0 && (this.byUser.get(userId) ?? 0) >= perUserMax) {
      throw tooMany('user', `you have ${perUserMax} live streams open; close one first`);
    }
    increment(this.byAddress, address);
    if (userId !== null) increment(this.byUser, userId);
    let given = false;
    return () => {
      if (given) return;
      given = true;
      decrement(this.byAddress, address);
      if (userId !== null) decrement(this.byUser, userId);
    };
  }
}

function tooMany(limit: 'address' | 'user', detail: string): DomainError {
  return new DomainError('TOO_MANY_STREAMS', detail, { limit }, { retryAfterMs });
}

function increment(counts: Map<string, number>, key: string): void {
  counts.set(key, (counts.get(key) ?? 0) + 1);
}

function decrement(counts: Map<string, number>, key: string): void {
  const left = (counts.get(key) ?? 1) - 1;
  if (left === 0) counts.delete(key);
  else counts.set(key, left);
}
