// The flash-sale buyers' SSE subscribers (bench/flash-buyers.ts): each reads the live seat
// map's `seat` messages, and ChangeLag matches every hold's 201 with the message that shows
// its seats held.
import { performance } from 'node:perf_hooks';
import { request as undiciRequest } from 'undici';

/** Matches each hold's 201 with the SSE message that shows its seats held: the change lag. */
export class ChangeLag {
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
export async function subscribe(
  origin: string,
  eventId: string,
  lag: ChangeLag,
  signal: AbortSignal,
  onOpen: () => void,
) {
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
