import type { Clock } from '../../app/ports/clock.ts';

export const systemClock: Clock = { nowMs: () => Date.now() };

/** A clock tests move by hand, so expiry is tested without sleeping. */
export class ManualClock implements Clock {
  constructor(private currentMs: number) {}
  nowMs(): number {
    return this.currentMs;
  }
  advance(ms: number): void {
    this.currentMs += ms;
  }
  set(ms: number): void {
    this.currentMs = ms;
  }
}
