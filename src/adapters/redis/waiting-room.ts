// The waiting room in Redis, shared by every process. An event's line is a sorted set
// ({eventId}:queue, score = queue key: random in [0, 1) for the pre-queue, 1, 2, 3… for
// arrivals after the opening), its admitted shoppers another (score = when the admission
// ends), its admission meter a hash. All under the event's hash tag, so each script touches
// one slot (Redis Cluster works unchanged). The admit script is the one logical admitter:
// atomic, with its state in Redis, so any number of processes may tick it and a dead one
// takes nothing with it.
import type { RedisClient } from './client.ts';
import { loadLua } from './lua.ts';
import type { AdmissionLimits, QueueState, WaitingRoom } from '../../app/ports/waiting-room.ts';

// The scripts in lua/, their KEYS and ARGV described at the top of each.
const joinLua = loadLua('queue-join');
const statesLua = loadLua('queue-states');
const admitLua = loadLua('queue-admit');

interface Scripts {
  bxQueueJoin(queue: string, admitted: string, arrivals: string, ...args: string[]): Promise<[string, string]>;
  bxQueueStates(queue: string, admitted: string, ...args: string[]): Promise<string[]>;
  bxQueueAdmit(queue: string, admitted: string, meter: string, ...args: string[]): Promise<number>;
}

/** How long this process trusts that an event is in the set of rooms the admitter ticks. */
const announceMs = 10_000;

export class RedisWaitingRoom implements WaitingRoom {
  private readonly scripts: Scripts;
  private readonly roomsKey: string;
  private readonly announced = new Map<string, number>();

  constructor(
    private readonly client: RedisClient,
    private readonly keyPrefix: string,
  ) {
    client.defineCommand('bxQueueJoin', { numberOfKeys: 3, lua: joinLua });
    client.defineCommand('bxQueueStates', { numberOfKeys: 2, lua: statesLua });
    client.defineCommand('bxQueueAdmit', { numberOfKeys: 3, lua: admitLua });
    this.scripts = client as unknown as Scripts;
    this.roomsKey = `${keyPrefix}waiting-rooms`;
  }

  private keysOf(eventId: string) {
    const base = `${this.keyPrefix}{${eventId}}:`;
    return { queue: `${base}queue`, admitted: `${base}admitted`, arrivals: `${base}arrivals`, meter: `${base}meter` };
  }

  async join(eventId: string, userId: string, queueKey: number | null, nowMs: number): Promise<QueueState> {
    const keys = this.keysOf(eventId);
    const announcedAt = this.announced.get(eventId);
    if (announcedAt === undefined || announcedAt < nowMs - announceMs) {
      await this.client.sadd(this.roomsKey, eventId);
      this.announced.set(eventId, nowMs);
    }
    const [kind, value] = await this.scripts.bxQueueJoin(
      keys.queue,
      keys.admitted,
      keys.arrivals,
      userId,
      String(nowMs),
      queueKey === null ? '' : String(queueKey),
    );
    return kind === 'admitted' ? { kind, expiresAtMs: Number(value) } : { kind: 'waiting', ahead: Number(value) };
  }

  async states(eventId: string, userIds: string[], nowMs: number): Promise<QueueState[]> {
    if (userIds.length === 0) return [];
    const keys = this.keysOf(eventId);
    const answers = await this.scripts.bxQueueStates(keys.queue, keys.admitted, String(nowMs), ...userIds);
    return answers.map((answer): QueueState => {
      const value = Number(answer.slice(2));
      if (answer.startsWith('a:')) return { kind: 'admitted', expiresAtMs: value };
      if (answer.startsWith('e:')) return { kind: 'expired', expiredAtMs: value };
      if (answer.startsWith('w:')) return { kind: 'waiting', ahead: value };
      return { kind: 'absent' };
    });
  }

  async admit(eventId: string, limits: AdmissionLimits): Promise<number> {
    const keys = this.keysOf(eventId);
    return this.scripts.bxQueueAdmit(
      keys.queue,
      keys.admitted,
      keys.meter,
      String(limits.nowMs),
      String(limits.ratePerMs),
      String(limits.burst),
      String(limits.maxActiveShoppers ?? -1),
      String(limits.admissionWindowMs),
      String(limits.batchMax),
    );
  }

  async finish(eventId: string, userId: string): Promise<void> {
    await this.client.zrem(this.keysOf(eventId).admitted, userId);
  }

  async rooms(): Promise<string[]> {
    return this.client.smembers(this.roomsKey);
  }

  async retainUntil(eventId: string, untilMs: number): Promise<void> {
    const keys = this.keysOf(eventId);
    await Promise.all(
      [keys.queue, keys.admitted, keys.arrivals, keys.meter].map((key) => this.client.pexpireat(key, untilMs)),
    );
  }

  async closeRoom(eventId: string): Promise<void> {
    this.announced.delete(eventId);
    await this.client.srem(this.roomsKey, eventId);
  }

  async waitingCount(eventId: string): Promise<number> {
    return this.client.zcard(this.keysOf(eventId).queue);
  }

  async close(): Promise<void> {
    this.announced.clear();
  }
}
