// Live-stream allowances without sockets: StreamSlots (per address, per user) and the
// waiting-room hub's process-wide cap, which must count a connect before it awaits anything
// (test/http/stream-limits.test.ts races the same over real connections).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ManualClock } from '../../src/adapters/clock/system-clock.ts';
import type { Deps } from '../../src/app/deps.ts';
import type { EventRecord } from '../../src/app/ports/events.ts';
import type { QueueState } from '../../src/app/ports/waiting-room.ts';
import { QueueFeedHub, type QueueFeedClient } from '../../src/app/queue-feed-hub.ts';
import { StreamSlots } from '../../src/app/stream-slots.ts';
import { DomainError } from '../../src/domain/errors.ts';

function refusal(action: () => unknown): { code: string; limit?: unknown } {
  try {
    action();
  } catch (error) {
    assert.ok(error instanceof DomainError);
    return { code: error.code, limit: error.extensions.limit };
  }
  assert.fail('expected a refusal');
}

describe('stream slots', () => {
  test('when an address holds its most streams, then the next is TOO_MANY_STREAMS until one is given back', () => {
    const slots = new StreamSlots({ perAddressMax: 2, perUserMax: 0 });
    const first = slots.take('10.0.0.1', null);
    slots.take('10.0.0.1', 'u1');
    assert.deepEqual(
      refusal(() => slots.take('10.0.0.1', null)),
      { code: 'TOO_MANY_STREAMS', limit: 'address' },
    );
    slots.take('10.0.0.2', null); // another address
    first();
    first(); // given back once, however often it is called
    slots.take('10.0.0.1', null);
    assert.equal(refusal(() => slots.take('10.0.0.1', null)).limit, 'address');
  });

  test('when a user holds their most streams, then the next is refused from any address; anonymous streams count per address only', () => {
    const slots = new StreamSlots({ perAddressMax: 0, perUserMax: 2 });
    const releases = [slots.take('10.0.0.1', 'u1'), slots.take('10.0.0.2', 'u1')];
    assert.deepEqual(
      refusal(() => slots.take('10.0.0.3', 'u1')),
      { code: 'TOO_MANY_STREAMS', limit: 'user' },
    );
    for (let index = 0; index < 50; index += 1) slots.take('10.0.0.1', null); // 0: no address limit
    slots.take('10.0.0.1', 'u2');
    releases[0]!();
    slots.take('10.0.0.3', 'u1');
  });

  test('when a refused user would also pass the address check, then nothing is counted for the refusal', () => {
    const slots = new StreamSlots({ perAddressMax: 2, perUserMax: 1 });
    slots.take('10.0.0.1', 'u1');
    assert.equal(refusal(() => slots.take('10.0.0.1', 'u1')).limit, 'user');
    slots.take('10.0.0.1', 'u2'); // the address's second slot is still free
    assert.equal(refusal(() => slots.take('10.0.0.1', 'u3')).limit, 'address');
  });
});

describe('waiting-room stream cap', () => {
  test('when more buyers connect at once than the cap while their places are being read, then exactly the cap get through', async () => {
    const clock = new ManualClock(Date.parse('2027-01-10T15:00:00Z'));
    const event = {
      id: '00000000-0000-4000-8000-000000000001',
      status: 'published',
      saleOpensAtMs: clock.nowMs() - 60_000,
      seatCount: 4,
      waitingRoom: { enabled: true, admitPerMinute: 60 },
    } as unknown as EventRecord;
    let letGo!: () => void;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    const deps = {
      clock,
      events: { findEvent: async () => event },
      // The live map: four seats, all for sale (the line is open); no seat changes.
      board: {
        subscribe: () => () => {},
        availability: async () => ({ version: 1, bits: new Uint8Array(1), lapsedSeatNos: [] }),
      },
      waitingRoom: {
        states: async (_eventId: string, userIds: string[]): Promise<QueueState[]> => {
          await gate; // every connect is inside its await at once
          return userIds.map(() => ({ kind: 'waiting', ahead: 3 }));
        },
      },
    } as unknown as Deps;
    const hub = new QueueFeedHub(deps, {
      maxSubscribers: 2,
      intervalMs: 60_000,
      heartbeatMs: 60_000,
      maxBufferedBytes: 1_000_000,
      onError: () => {},
    });
    const client = (): QueueFeedClient => ({ send: () => {}, bufferedBytes: () => 0, close: () => {} });
    try {
      const connects = Array.from({ length: 5 }, (_, index) =>
        hub.connect(event.id, `buyer-${index}`, client()).then(
          (end) => ({ end }),
          (error: DomainError) => ({ refused: error.code }),
        ),
      );
      letGo();
      const outcomes = await Promise.all(connects);
      assert.equal(outcomes.filter((outcome) => 'end' in outcome).length, 2);
      assert.deepEqual(
        outcomes.filter((outcome) => 'refused' in outcome),
        [{ refused: 'TOO_MANY_SUBSCRIBERS' }, { refused: 'TOO_MANY_SUBSCRIBERS' }, { refused: 'TOO_MANY_SUBSCRIBERS' }],
      );
      assert.equal(hub.subscribers, 2);
      for (const outcome of outcomes) if ('end' in outcome) outcome.end();
      assert.equal(hub.subscribers, 0, 'ended streams are counted down');
    } finally {
      hub.close();
    }
  });
});
