// The waiting room in Redis, shared by every process. An event's line is a sorted set
// ({eventId}:queue, score = queue key: random in [0, 1) for the pre-queue, 1, 2, 3… for
// arrivals after the opening), its admitted shoppers another (score = when the admission
// ends), its admission meter a hash. All under the event's hash tag, so each script touches
// one slot (Redis Cluster works unchanged). The admit script is the one logical admitter:
// atomic, with its state in Redis, so any number of processes may tick it and a dead one
// takes nothing with it.
import type { RedisClient } from './client.ts';
import { loadLua } from './lua.ts';
import type { AdmissionLimits, AdmissionNotice, QueueState, WaitingRoom } from '../../app/ports/waiting-room.ts';

// The scripts in lua/, their KEYS and ARGV described at the top of each.
const joinLua = loadLua('queue-join');
const statesLua = loadLua('queue-states');
const admitLua = loadLua('queue-admit');

interface Scripts {
  bxQueueJoin(
    queue: string,
    admitted: string,
    arrivals: string,
    contacts: string,
    ...args: string[]
  ): Promise<[string, string]>;
  bxQueueStates(queue: string, admitted: string, ...args: string[]): Promise<string[]>;
  bxQueueAdmit(
    queue: string,
    admitted: string,
    meter: string,
    contacts: string,
    notices: string,
    ...args: string[]
  ): Promise<number>;
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
    client.defineCommand('bxQueueJoin', { numberOfKeys: 4, lua: joinLua });
    client.defineCommand('bxQueueStates', { numberOfKeys: 2, lua: statesLua });
    client.defineCommand('bxQueueAdmit', { numberOfKeys: 5, lua: admitLua });
    this.scripts = client as unknown as Scripts;
    this.roomsKey = `${keyPrefix}waiting-rooms`;
  }

  private keysOf(eventId: string) {
    const base = `${this.keyPrefix}{${eventId}}:`;
    return {
      queue: `${base}queue`,
      admitted: `${base}admitted`,
      arrivals: `${base}arrivals`,
      meter: `${base}meter`,
      contacts: `${base}contacts`,
      notices: `${base}notices`,
    };
  }

  async join(
    eventId: string,
    userId: string,
    queueKey: number | null,
    nowMs: number,
    email: string | null = null,
  ): Promise<QueueState> {
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
      keys.contacts,
      userId,
      String(nowMs),
      queueKey === null ? '' : String(queueKey),
      email ?? '',
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
      keys.contacts,
      keys.notices,
      String(limits.nowMs),
      String(limits.ratePerMs),
      String(limits.burst),
      String(limits.maxActiveShoppers ?? -1),
      String(limits.admissionWindowMs),
      String(limits.batchMax),
    );
  }

  async notices(eventId: string, limit: number): Promise<AdmissionNotice[]> {
    const entries = await this.client.lrange(this.keysOf(eventId).notices, 0, limit - 1);
    return entries.map((entry) => {
      const [userId, email, expiresAtMs] = entry.split('\n');
      return { userId: userId!, email: email!, expiresAtMs: Number(expiresAtMs) };
    });
  }

  async dropNotices(eventId: string, notices: AdmissionNotice[]): Promise<void> {
    if (notices.length === 0) return;
    // By value, not by count: another process may have handed on (and dropped) some already.
    const key = this.keysOf(eventId).notices;
    const pipeline = this.client.pipeline();
    for (const notice of notices) {
      pipeline.lrem(key, 1, `${notice.userId}\n${notice.email}\n${notice.expiresAtMs}`);
    }
    await pipeline.exec();
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
      [keys.queue, keys.admitted, keys.arrivals, keys.meter, keys.contacts, keys.notices].map((key) =>
        this.client.pexpireat(key, untilMs),
      ),
    );
  }

  async closeRoom(eventId: string): Promise<void> {
    this.announced.delete(eventId);
    await this.client.srem(this.roomsKey, eventId);
  }

  async waitingCount(eventId: string): Promise<number> {
    return this.client.zcard(this.keysOf(eventId).queue);
  }

  async admittedCount(eventId: string, nowMs: number): Promise<number> {
    // Scored by when each admission ends: the ones still running.
    return this.client.zcount(this.keysOf(eventId).admitted, `(${nowMs}`, '+inf');
  }

  async close(): Promise<void> {
    this.announced.clear();
  }
}
