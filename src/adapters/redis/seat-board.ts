// The hot path on Redis, shared by every process: the hold gate, the live seat map and
// the change feed of one event live under one hash tag ({eventId}), so each Lua script
// touches one slot and runs unchanged on Redis Cluster. PostgreSQL stays the judge: a
// failed Redis call never fails a request, it only makes the request take the slower
// PostgreSQL path (and marks the event for a rebuild once Redis answers again).
import type { RedisOptions } from 'ioredis';
import type { Clock } from '../../app/ports/clock.ts';
import type { SeatState } from '../../app/ports/events.ts';
import type {
  Availability,
  BestAnswer,
  FeedMessage,
  GateAnswer,
  SeatBoard,
  SeatChange,
  SeatChangeBatch,
  SeatStateLoader,
} from '../../app/ports/seat-board.ts';
import { sizedBits, writeSeatStatus } from '../../domain/availability.ts';
import { rowFactsOf, rowsWorthAsking, type CandidateRow, type RowFacts } from '../../domain/best-available.ts';
import type { SeatStatus } from '../../domain/holds.ts';
import { epochVersion, gateLetter } from '../../app/seat-board-rules.ts';
import { commandClientOptions, connectRedis, type RedisClient, type RedisTarget, subscriberOptions } from './client.ts';
import { loadLua } from './lua.ts';

// The scripts in lua/, their KEYS and ARGV described at the top of each. Gate entries (the
// seats hash) are "state|version|expiresAtMs|holder" (see app/seat-board-rules.ts).
const gateLua = loadLua('gate');
const bestLua = loadLua('best');
const abandonLua = loadLua('abandon');
const applyLua = loadLua('apply');
const finishWarmLua = loadLua('finish-warm');
const snapshotLua = loadLua('snapshot');
const changesLua = loadLua('changes');

interface Scripts {
  bxGate(seats: string, meta: string, ...args: string[]): Promise<[number, string[]]>;
  bxBest(seats: string, meta: string, ...args: string[]): Promise<[number, number[]]>;
  bxAbandon(seats: string, ...args: string[]): Promise<number>;
  bxApply(seats: string, map: string, meta: string, log: string, holds: string, ...args: string[]): Promise<number>;
  bxFinishWarm(meta: string, log: string, ...args: string[]): Promise<number>;
  bxSnapshotBuffer(meta: string, map: string, holds: string, now: string): Promise<[Buffer, number, Buffer, Buffer[]]>;
  bxChanges(meta: string, log: string, ...args: string[]): Promise<[string, string[]][] | null>;
}

export interface RedisSeatBoardOptions extends RedisTarget {
  keyPrefix: string;
  loader: SeatStateLoader;
  clock: Clock;
  pendingMs: number;
  logMax: number;
  commandTimeoutMs: number;
  onError: (error: unknown, context: string) => void;
}

const warmChunkSeats = 2_000;
/** How old a reading of the map best available may judge rows from, and how many readings are kept. */
const readingMaxAgeMs = 100;
const readingsMax = 1_000;
/** The rows with room sent to the chooser per request, and the readings it may take. */
const bestRowsMax = 24;
const bestAttemptsMax = 3;
const rebuildRetryMs = 1_000;
const codes: SeatStatus[] = ['available', 'held', 'booked', 'blocked'];

export class RedisSeatBoard implements SeatBoard {
  private readonly client: RedisClient;
  private readonly subscriber: RedisClient;
  private readonly scripts: Scripts;
  private readonly channel: string;
  private readonly listeners = new Set<(message: FeedMessage) => void>();
  private readonly warming = new Map<string, Promise<boolean>>();
  /** Events whose changes did not all reach Redis: rebuilt once Redis answers again. */
  private readonly dirty = new Set<string>();
  private closed = false;
  private rebuildTimer: NodeJS.Timeout | null = null;
  /** Per event, the latest shared reading of the map that best available judges rows from. */
  private readonly readings = new Map<
    string,
    { atMs: number; sequence: number; seatCount: number; reading: Promise<MapReading | null> }
  >();
  private readingSequence = 0;

  constructor(private readonly options: RedisSeatBoardOptions) {
    const redisOptions: RedisOptions = {
      ...commandClientOptions(options.commandTimeoutMs),
      connectTimeout: 2_000,
      lazyConnect: false,
      // Gate calls of many requests in one tick go out as one write (a syscall per
      // command was a fifth of a flash-sale hold's CPU).
      enableAutoPipelining: true,
    };
    this.client = connectRedis(options, redisOptions);
    this.subscriber = connectRedis(options, subscriberOptions(redisOptions));
    this.channel = `${options.keyPrefix}seat-changes`;
    for (const [name, numberOfKeys, lua] of [
      ['bxGate', 2, gateLua],
      ['bxBest', 2, bestLua],
      ['bxAbandon', 1, abandonLua],
      ['bxApply', 5, applyLua],
      ['bxFinishWarm', 2, finishWarmLua],
      ['bxSnapshot', 3, snapshotLua],
      ['bxChanges', 2, changesLua],
    ] as const) {
      this.client.defineCommand(name, { numberOfKeys, lua });
    }
    this.scripts = this.client as unknown as Scripts;
    this.client.on('error', (error) => options.onError(error, 'redis'));
    this.subscriber.on('error', (error) => options.onError(error, 'redis subscriber'));
    this.client.on('ready', () => this.rebuildDirty());
    this.subscriber.on('message', (_channel: string, message: string) => this.dispatch(message));
    this.subscriber.subscribe(this.channel).catch((error: unknown) => options.onError(error, 'redis subscribe'));
  }

  health() {
    return this.client.status === 'ready' ? ('up' as const) : ('down' as const);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.rebuildTimer) clearTimeout(this.rebuildTimer);
    this.listeners.clear();
    await Promise.allSettled([...this.warming.values()]);
    this.client.disconnect();
    this.subscriber.disconnect();
  }

  async tryHold(eventId: string, seatNos: number[], holder: string, nowMs: number): Promise<GateAnswer> {
    const keys = this.keysOf(eventId);
    try {
      const [warm, conflicts] = await this.scripts.bxGate(
        keys.seats,
        keys.meta,
        String(nowMs),
        String(nowMs + this.options.pendingMs),
        holder,
        ...seatNos.map(String),
      );
      if (warm !== 1) void this.warm(eventId); // until then the gate only knows recent changes
      return conflicts.length > 0 ? { kind: 'conflict', seatNos: conflicts.map(Number) } : { kind: 'passed' };
    } catch (error) {
      this.options.onError(error, 'redis hold gate');
      return { kind: 'bypassed' };
    }
  }

  /**
   * The Lua chooser sees the truth but is sent only the rows worth asking (rowsWorthAsking),
   * judged from a reading of the map shared for readingMaxAgeMs, so a request costs a few
   * rows of work in Redis, not the whole map. When those rows filled since the reading,
   * it asks again from a fresh one.
   */
  async tryHoldBest(
    eventId: string,
    seatCount: number,
    rows: readonly CandidateRow[],
    choice: { count: number; together: boolean },
    holder: string,
    nowMs: number,
  ): Promise<BestAnswer> {
    const keys = this.keysOf(eventId);
    try {
      let staleBefore = 0;
      for (let attempt = 0; attempt < bestAttemptsMax; attempt += 1) {
        const reading = await this.reading(eventId, seatCount, nowMs, staleBefore);
        if (!reading) return { kind: 'bypassed' };
        staleBefore = reading.sequence + 1;
        // Wider each time: seats the reading shows free may have been taken since (the
        // last attempt sends every row the reading shows a free seat in).
        const last = attempt === bestAttemptsMax - 1;
        const widen = 4 ** attempt;
        const limits = last
          ? { fittingRows: Infinity, freeSeats: Infinity }
          : { fittingRows: bestRowsMax * widen, freeSeats: choice.count * widen };
        const worth = reading.worthAsking(rows, choice, limits);
        if (worth.rows.length === 0) return { kind: 'none' };
        const args = [String(nowMs), String(nowMs + this.options.pendingMs), holder, String(choice.count)];
        args.push(choice.together ? '1' : '0', String(worth.apartRows), String(worth.rows.length));
        for (const row of worth.rows) {
          args.push(String(row.firstSeatNo), String(row.seatCount), String(row.runs.length));
          for (const [first, length] of row.runs) args.push(String(first), String(length));
        }
        const [warm, chosen] = await this.scripts.bxBest(keys.seats, keys.meta, ...args);
        if (warm !== 1) return { kind: 'bypassed' };
        if (chosen.length > 0) return { kind: 'passed', seatNos: chosen.map(Number) };
      }
      return { kind: 'none' };
    } catch (error) {
      this.options.onError(error, 'redis best available');
      return { kind: 'bypassed' };
    }
  }

  /** A reading of the map at most readingMaxAgeMs old and not older than sequence staleBefore; null when Redis cannot give one. */
  private async reading(
    eventId: string,
    seatCount: number,
    nowMs: number,
    staleBefore: number,
  ): Promise<MapReading | null> {
    const cached = this.readings.get(eventId);
    if (
      cached &&
      cached.sequence >= staleBefore &&
      nowMs - cached.atMs < readingMaxAgeMs &&
      cached.seatCount === seatCount
    ) {
      return cached.reading;
    }
    const sequence = (this.readingSequence += 1);
    const reading = this.availability(eventId, seatCount, nowMs).then((map) =>
      map ? new MapReading(map.bits, sequence) : null,
    );
    this.readings.set(eventId, { atMs: nowMs, sequence, seatCount, reading });
    if (this.readings.size > readingsMax) this.readings.delete(this.readings.keys().next().value!);
    const settled = await reading;
    if (!settled) this.readings.delete(eventId);
    return settled;
  }

  async abandon(eventId: string, seatNos: number[], holder: string): Promise<void> {
    try {
      await this.scripts.bxAbandon(this.keysOf(eventId).seats, holder, ...seatNos.map(String));
    } catch (error) {
      this.options.onError(error, 'redis abandon'); // the provisional entries lapse by themselves
    }
  }

  async apply(eventId: string, changes: SeatState[]): Promise<void> {
    if (changes.length === 0) return;
    try {
      await this.applyStates(eventId, changes, false);
    } catch (error) {
      this.options.onError(error, 'redis apply');
      this.dirty.add(eventId);
      this.scheduleRebuild();
    }
  }

  async availability(eventId: string, seatCount: number, nowMs: number): Promise<Availability | null> {
    try {
      let snapshot = await this.snapshot(eventId, seatCount, nowMs);
      if (!snapshot.warm) {
        if (!(await this.warm(eventId))) return null;
        snapshot = await this.snapshot(eventId, seatCount, nowMs);
      }
      return snapshot.warm
        ? { version: snapshot.version, bits: snapshot.bits, lapsedSeatNos: snapshot.lapsedSeatNos }
        : null;
    } catch (error) {
      this.options.onError(error, 'redis availability');
      return null;
    }
  }

  subscribe(listener: (message: FeedMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async changesSince(eventId: string, version: number): Promise<SeatChangeBatch[] | null> {
    const keys = this.keysOf(eventId);
    try {
      const entries = await this.scripts.bxChanges(keys.meta, keys.log, String(version), String(this.options.logMax));
      if (!entries) return null;
      return entries.map(([id, fields]) => ({
        eventId,
        version: Number(id.slice(0, id.indexOf('-'))),
        changes: parseChanges(fields[1] ?? ''),
      }));
    } catch (error) {
      this.options.onError(error, 'redis change log');
      return null;
    }
  }

  private keysOf(eventId: string) {
    const base = `${this.options.keyPrefix}{${eventId}}:`;
    return {
      seats: `${base}seats`,
      map: `${base}map`,
      meta: `${base}meta`,
      log: `${base}log`,
      holds: `${base}holds`,
    };
  }

  private async snapshot(eventId: string, seatCount: number, nowMs: number) {
    const keys = this.keysOf(eventId);
    const [version, warm, map, lapsed] = await this.scripts.bxSnapshotBuffer(
      keys.meta,
      keys.map,
      keys.holds,
      String(nowMs),
    );
    const bits = sizedBits(map, seatCount);
    const lapsedSeatNos: number[] = [];
    for (const seat of lapsed) {
      const seatNo = Number(seat.toString());
      if (seatNo >= seatCount) continue;
      writeSeatStatus(bits, seatNo, 'available');
      lapsedSeatNos.push(seatNo);
    }
    return { version: Number(version.toString()), warm: warm === 1, bits, lapsedSeatNos };
  }

  private async applyStates(eventId: string, states: SeatState[], quiet: boolean): Promise<void> {
    const keys = this.keysOf(eventId);
    const args = [
      quiet ? '1' : '0',
      String(this.options.logMax),
      this.channel,
      eventId,
      String(epochVersion(this.options.clock.nowMs(), 0)),
      String(this.options.clock.nowMs()),
    ];
    for (const state of states) {
      const held = state.status === 'held';
      args.push(
        String(state.seatNo),
        gateLetter[state.status],
        String(state.version),
        held ? String(state.expiresAtMs ?? 0) : '',
        held ? (state.holder ?? '') : '',
      );
    }
    await this.scripts.bxApply(keys.seats, keys.map, keys.meta, keys.log, keys.holds, ...args);
  }

  /** Rebuilds the event's map from PostgreSQL (once at a time per process); false on failure. */
  private warm(eventId: string): Promise<boolean> {
    let running = this.warming.get(eventId);
    if (!running) {
      running = this.rebuild(eventId).finally(() => this.warming.delete(eventId));
      this.warming.set(eventId, running);
    }
    return running;
  }

  private async rebuild(eventId: string): Promise<boolean> {
    try {
      const { states } = await this.options.loader(eventId);
      for (let start = 0; start < states.length; start += warmChunkSeats) {
        await this.applyStates(eventId, states.slice(start, start + warmChunkSeats), true);
      }
      const keys = this.keysOf(eventId);
      await this.scripts.bxFinishWarm(
        keys.meta,
        keys.log,
        String(epochVersion(this.options.clock.nowMs(), 0)),
        this.channel,
        eventId,
      );
      this.dirty.delete(eventId);
      return true;
    } catch (error) {
      this.options.onError(error, 'redis rebuild');
      this.dirty.add(eventId);
      this.scheduleRebuild();
      return false;
    }
  }

  private rebuildDirty(): void {
    if (this.closed) return;
    for (const eventId of [...this.dirty]) void this.warm(eventId);
  }

  /**
   * A call can fail while the connection stays up (a timeout under load): then no
   * 'ready' comes to trigger the rebuild, so it is retried a second later, and again
   * while it keeps failing. Without a connection, 'ready' does it.
   */
  private scheduleRebuild(): void {
    if (this.closed || this.rebuildTimer) return;
    this.rebuildTimer = setTimeout(() => {
      this.rebuildTimer = null;
      if (this.client.status === 'ready') this.rebuildDirty();
    }, rebuildRetryMs);
    this.rebuildTimer.unref();
  }

  private dispatch(message: string): void {
    const first = message.indexOf('|');
    const second = message.indexOf('|', first + 1);
    if (first < 0 || second < 0) return;
    const eventId = message.slice(0, first);
    const version = Number(message.slice(first + 1, second));
    const body = message.slice(second + 1);
    const parsed: FeedMessage =
      body === '*'
        ? { kind: 'reset', eventId, version }
        : { kind: 'changes', eventId, version, changes: parseChanges(body) };
    for (const listener of this.listeners) listener(parsed);
  }
}

/** A reading of the map, and the rows worth asking for each request shape, worked out once per reading. */
class MapReading {
  private readonly worth = new WeakMap<readonly CandidateRow[], Map<string, ReturnType<typeof rowsWorthAsking>>>();
  /** Each row's facts, read once per reading whatever the request shapes (a row is read at most once). */
  private readonly facts = new WeakMap<CandidateRow, RowFacts>();
  private readonly factsOf = (row: CandidateRow): RowFacts => {
    let facts = this.facts.get(row);
    if (!facts) {
      facts = rowFactsOf(row, this.isFree);
      this.facts.set(row, facts);
    }
    return facts;
  };
  private readonly isFree = (seatNo: number) => ((this.bits[seatNo >> 2]! >> (6 - 2 * (seatNo & 3))) & 3) === 0;

  constructor(
    private readonly bits: Uint8Array,
    readonly sequence: number,
  ) {}

  worthAsking(
    rows: readonly CandidateRow[],
    choice: { count: number; together: boolean },
    limits: { fittingRows: number; freeSeats: number },
  ): ReturnType<typeof rowsWorthAsking> {
    let shapes = this.worth.get(rows);
    if (!shapes) this.worth.set(rows, (shapes = new Map()));
    const shape = `${choice.count}:${choice.together}:${limits.fittingRows}:${limits.freeSeats}`;
    let worth = shapes.get(shape);
    if (!worth) {
      worth = rowsWorthAsking(rows, this.factsOf, choice, limits);
      shapes.set(shape, worth);
    }
    return worth;
  }
}

function parseChanges(body: string): SeatChange[] {
  if (body === '') return [];
  return body.split(',').map((pair) => {
    const colon = pair.indexOf(':');
    return { seatNo: Number(pair.slice(0, colon)), status: codes[Number(pair.slice(colon + 1))]! };
  });
}
