// Retrying what failed (refunds, mail): the wait before the next try doubles with each
// failure, from baseMs, capped at maxMs. attempts: the tries made so far, this one included.

export function backoffMs(attempts: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempts - 1));
}
