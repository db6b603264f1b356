// The live seat-map hub with the in-process board and a fake store: coalescing, slow
// clients, the subscriber limit, and the 2-bit map rules. The same hub runs over Redis
// in test/http/live.test.ts; these pin down its transport-side rules without sockets.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ManualClock, systemClock } from '../../src/adapters/clock/system-clock.ts';
import { MemorySeatBoard } from '../../src/adapters/memory/seat-board.ts';
import type { Deps } from '../../src/app/deps.ts';
import type { EventRecord, SeatState } from '../../src/app/ports/events.ts';
import { SeatFeedHub, type SeatFeedClient } from '../../src/app/seat-feed-hub.ts';
import { readSeatStatus, writeSeatStatus } from '../../src/domain/availability.ts';
import { DomainError } from '../../src/domain/errors.ts';
import { seatFeedBytes } from '../../src/http/sse.ts';

const eventId = '00000000-0000-4000-8000-000000000001';
const event = { id: eventId, seatCount: 10 } as EventRecord;

function setup(options: { maxSubscribers?: number; minIntervalMs?: number; maxBufferedBytes?: number } = {}) {
  const clock = new ManualClock(Date.parse('2027-01-10T15:00:00Z'));
  const board = new MemorySeatBoard({
    loader: async () => ({ seatCount: 10, states: [] }),
    clock,
    pendingMs: 5_000,
    logMax: 100,
  });
  const store = { findEvent: async (id: string) => (id === eventId ? event : null) };
  const deps = { events: store, board, clock } as unknown as Deps;
  const hub = new SeatFeedHub(
    deps,
    {
      maxSubscribers: options.maxSubscribers ?? 100,
      minIntervalMs: options.minIntervalMs ?? 50,
      heartbeatMs: 60_000,
      maxBufferedBytes: options.maxBufferedBytes ?? 1_000_000,
      recentMax: 100,
      degradedPollMs: 60_000,
    },
    systemClock,
  );
  let version = 0;
  const change = (seatNo: number, status: SeatState['status']) =>
    board.apply(eventId, [
      {
        seatNo,
        version: ++version,
        status,
        holder: status === 'held' ? 'r' : null,
        expiresAtMs: clock.nowMs() + 60_000,
      },
    ]);
  return { hub, board, change };
}

function fakeClient(buffered = () => 0) {
  const messages: string[] = [];
  // Kept as the bytes a stream would carry (the SSE wire format of http/sse.ts).
  const client: SeatFeedClient & { messages: string[]; closed: boolean } = {
    messages,
    closed: false,
    send: (message) => messages.push(seatFeedBytes(message).toString()),
    bufferedBytes: buffered,
    close() {
      client.closed = true;
    },
  };
  return client;
}

const events = (client: { messages: string[] }) =>
  client.messages.filter((message) => message.startsWith('event:')).map((message) => message.split('\n')[0]);

describe('live seat-map hub', () => {
  test('when a burst of changes comes within the interval, then a client gets one snapshot and one merged message', async () => {
    const { hub, change } = setup({ minIntervalMs: 200 });
    const client = fakeClient();
    await hub.connect(eventId, null, client);
    await change(1, 'held');
    await sleep(20); // the first change after a quiet spell goes out at once
    for (let seatNo = 2; seatNo <= 6; seatNo += 1) await change(seatNo, 'held');
    await change(1, 'available');
    await sleep(300);
    assert.deepEqual(events(client), ['event: snapshot', 'event: seat', 'event: seat']);
    const last = JSON.parse(client.messages.at(-1)!.split('data: ')[1]!);
    assert.deepEqual(
      last.changes.map((c: { seat_id: string; status: string }) => `${c.seat_id}:${c.status}`),
      ['s1:available', 's2:held', 's3:held', 's4:held', 's5:held', 's6:held'],
    );
    hub.close();
  });

  test('when a client does not keep up, then it is dropped, not buffered without bound', async () => {
    const { hub, change } = setup({ maxBufferedBytes: 1_000 });
    let backlog = 0;
    const slow = fakeClient(() => backlog);
    const fast = fakeClient();
    await hub.connect(eventId, null, slow);
    await hub.connect(eventId, null, fast);
    assert.equal(hub.subscribers, 2);
    backlog = 5_000;
    await change(3, 'booked');
    await sleep(100);
    assert.equal(slow.closed, true);
    assert.equal(fast.closed, false);
    assert.equal(hub.subscribers, 1);
    assert.ok(fast.messages.at(-1)!.includes('"s3","status":"booked"'));
    hub.close();
  });

  test('when the process has as many clients as it takes, then the next is refused and a freed slot is reusable', async () => {
    const { hub } = setup({ maxSubscribers: 1 });
    const end = await hub.connect(eventId, null, fakeClient());
    await assert.rejects(
      hub.connect(eventId, null, fakeClient()),
      (error) => error instanceof DomainError && error.code === 'TOO_MANY_SUBSCRIBERS',
    );
    await assert.rejects(
      hub.connect('00000000-0000-4000-8000-000000000002', null, fakeClient()),
      (error) => error instanceof DomainError && error.code === 'TOO_MANY_SUBSCRIBERS',
    );
    end();
    end(); // twice is once
    assert.equal(hub.subscribers, 0);
    await hub.connect(eventId, null, fakeClient());
    assert.equal(hub.subscribers, 1);
    hub.close();
  });
});

describe('the 2-bit seat map', () => {
  test('when statuses are written, then each seat reads back its own and leaves its neighbours alone', () => {
    const bits = new Uint8Array(3);
    const statuses = [
      'held',
      'booked',
      'available',
      'booked',
      'held',
      'held',
      'available',
      'booked',
      'booked',
    ] as const;
    statuses.forEach((status, seatNo) => writeSeatStatus(bits, seatNo, status));
    assert.deepEqual(
      statuses.map((_, seatNo) => readSeatStatus(bits, seatNo)),
      [...statuses],
    );
    // Seat n is bits 2n and 2n+1, most significant first: Redis BITFIELD u2 #n.
    assert.equal(bits[0], 0b01_10_00_10);
    writeSeatStatus(bits, 1, 'available');
    assert.equal(bits[0], 0b01_00_00_10);
  });
});
