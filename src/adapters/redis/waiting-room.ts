// The waiting room in Redis, shared by every process. An event's line is a sorted set
// ({eventId}:queue, score = queue key: random in [0, 1) for the pre-queue, 1, 2, 3… for
// arrivals after the opening), its admitted shoppers another (score = when the admission
// ends), its admission meter a hash. All under the event's hash tag, so each script touches
// one slot (Redis Cluster works unchanged). The admit script is the one logical admitter:
// atomic, with its state in Redis, so any number of processes may tick it and a dead one
// takes nothing with it.
import type { RedisClient } from './client.ts';
import type { AdmissionLimits, QueueState, WaitingRoom } from '../../app/ports.ts';

// KEYS: queue, admitted, arrivals. ARGV: user, now, queue key ('' = next arrival).
// Returns {'admitted', expiresAt} or {'waiting', rank}.
const joinLua = `
local user, now = ARGV[1], tonumber(ARGV[2])
local expires = redis.call('ZSCORE', KEYS[2], user)
if expires then
  if tonumber(expires) > now then return {'admitted', expires} end
  redis.call('ZREM', KEYS[2], user)
end
local rank = redis.call('ZRANK', KEYS[1], user)
if not rank then
  local key = ARGV[3]
  if key == '' then key = 1 + redis.call('INCR', KEYS[3]) end
  redis.call('ZADD', KEYS[1], key, user)
  rank = redis.call('ZRANK', KEYS[1], user)
end
return {'waiting', tostring(rank)}`;

// KEYS: queue, admitted. ARGV: now, user... Returns 'a:<expires>', 'e:<expired>', 'w:<rank>' or '-' per user.
const statesLua = `
local now, out = tonumber(ARGV[1]), {}
for i = 2, #ARGV do
  local expires = redis.call('ZSCORE', KEYS[2], ARGV[i])
  if expires then
    out[#out + 1] = (tonumber(expires) > now and 'a:' or 'e:') .. expires
  else
    local rank = redis.call('ZRANK', KEYS[1], ARGV[i])
    out[#out + 1] = rank and ('w:' .. rank) or '-'
  end
end
return out`;

// KEYS: queue, admitted, meter. ARGV: now, rate per ms, burst, cap (-1: none), window ms,
// batch max. The twin of domain/waiting-room.ts refillMeter + admissionsDue. Returns the
// number admitted.
const admitLua = `
local now, rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local cap, window, batchMax = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local at = tonumber(redis.call('HGET', KEYS[3], 'at'))
local places = tonumber(redis.call('HGET', KEYS[3], 'places'))
if not at or not places then
  at, places = now, burst
elseif now > at then
  places, at = math.min(burst, places + (now - at) * rate), now
end
local due = math.min(math.floor(places), batchMax)
if cap >= 0 then
  due = math.min(due, math.max(0, cap - redis.call('ZCOUNT', KEYS[2], '(' .. now, '+inf')))
end
local admitted = 0
if due > 0 then
  local popped = redis.call('ZPOPMIN', KEYS[1], due)
  local args = {}
  for i = 1, #popped, 2 do
    args[#args + 1] = now + window
    args[#args + 1] = popped[i]
  end
  if #args > 0 then redis.call('ZADD', KEYS[2], unpack(args)) end
  admitted = #popped / 2
  places = places - admitted
end
redis.call('HSET', KEYS[3], 'at', string.format('%d', at), 'places', string.format('%.17g', places))
return admitted`;

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
