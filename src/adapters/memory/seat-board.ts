// The hot path in-process, for one process that owns its database (the embedded default):
// the same gate, map and feed as the Redis board, with the same rules, in plain memory.
import { availabilityBytes, readSeatStatus, writeSeatStatus } from '../../domain/availability.ts';
import type { Clock } from '../../app/ports/clock.ts';
import type { SeatState } from '../../app/ports/events.ts';
import { chooseSeats, type CandidateRow } from '../../domain/best-available.ts';
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
import { appliedEntry, epochVersion, isBlocking, type GateEntry } from '../../app/seat-board-rules.ts';

interface EventBoard {
  entries: Map<number, GateEntry>;
  /** Held seats and when their holds end. */
  holds: Map<number, number>;
  bits: Uint8Array;
  version: number;
  warm: boolean;
  log: SeatChangeBatch[];
  warming: Promise<void> | null;
}

export interface MemorySeatBoardOptions {
  loader: SeatStateLoader;
  clock: Clock;
  pendingMs: number;
  logMax: number;
}

export class MemorySeatBoard implements SeatBoard {
  private readonly boards = new Map<string, EventBoard>();
  private readonly listeners = new Set<(message: FeedMessage) => void>();

  constructor(private readonly options: MemorySeatBoardOptions) {}

  health() {
    return 'in-process' as const;
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }

  async tryHold(eventId: string, seatNos: number[], holder: string, nowMs: number): Promise<GateAnswer> {
    const board = this.boardOf(eventId);
    const conflicts = seatNos.filter((seatNo) => isBlocking(board.entries.get(seatNo), nowMs));
    if (conflicts.length > 0) return { kind: 'conflict', seatNos: conflicts };
    this.takeProvisionally(board, seatNos, holder, nowMs);
    return { kind: 'passed' };
  }

  private takeProvisionally(board: EventBoard, seatNos: number[], holder: string, nowMs: number): void {
    const pendingUntilMs = nowMs + this.options.pendingMs;
    for (const seatNo of seatNos) {
      const version = board.entries.get(seatNo)?.version ?? 0;
      board.entries.set(seatNo, { state: 'P', version, expiresAtMs: pendingUntilMs, holder });
    }
  }

  async tryHoldBest(
    eventId: string,
    _seatCount: number,
    rows: readonly CandidateRow[],
    choice: { count: number; together: boolean },
    holder: string,
    nowMs: number,
  ): Promise<BestAnswer> {
    const board = this.boardOf(eventId);
    // A choice needs the whole map: before the first build the entries know only recent changes.
    if (!board.warm) await this.warmed(eventId, board);
    const seatNos = chooseSeats(
      rows,
      (seatNo) => !isBlocking(board.entries.get(seatNo), nowMs),
      choice.count,
      choice.together,
    );
    if (!seatNos) return { kind: 'none' };
    this.takeProvisionally(board, seatNos, holder, nowMs);
    return { kind: 'passed', seatNos };
  }

  async abandon(eventId: string, seatNos: number[], holder: string): Promise<void> {
    const board = this.boardOf(eventId);
    for (const seatNo of seatNos) {
      const entry = board.entries.get(seatNo);
      if (entry?.state === 'P' && entry.holder === holder) {
        board.entries.set(seatNo, { state: 'F', version: entry.version, expiresAtMs: 0, holder: '' });
      }
    }
  }

  async apply(eventId: string, changes: SeatState[]): Promise<void> {
    this.applyTo(this.boardOf(eventId), eventId, changes, false);
  }

  async availability(eventId: string, seatCount: number, nowMs: number): Promise<Availability | null> {
    const board = this.boardOf(eventId);
    if (!board.warm) await this.warmed(eventId, board);
    const bits = new Uint8Array(availabilityBytes(seatCount));
    bits.set(board.bits.subarray(0, bits.length));
    const lapsedSeatNos: number[] = [];
    for (const [seatNo, expiresAtMs] of board.holds) {
      if (expiresAtMs > nowMs || seatNo >= seatCount) continue;
      writeSeatStatus(bits, seatNo, 'available');
      lapsedSeatNos.push(seatNo);
    }
    return { version: board.version, bits, lapsedSeatNos };
  }

  subscribe(listener: (message: FeedMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async changesSince(eventId: string, version: number): Promise<SeatChangeBatch[] | null> {
    const board = this.boardOf(eventId);
    if (version === board.version) return [];
    const first = board.log[0];
    if (version > board.version || !first || first.version > version + 1) return null;
    return board.log.filter((batch) => batch.version > version);
  }

  private boardOf(eventId: string): EventBoard {
    let board = this.boards.get(eventId);
    if (!board) {
      board = {
        entries: new Map(),
        holds: new Map(),
        bits: new Uint8Array(0),
        version: 0,
        warm: false,
        log: [],
        warming: null,
      };
      this.boards.set(eventId, board);
    }
    return board;
  }

  private async warmed(eventId: string, board: EventBoard): Promise<void> {
    board.warming ??= this.warm(eventId, board).finally(() => {
      board.warming = null;
    });
    await board.warming;
  }

  private async warm(eventId: string, board: EventBoard): Promise<void> {
    const { seatCount, states } = await this.options.loader(eventId);
    this.ensureCapacity(board, seatCount - 1);
    this.applyTo(board, eventId, states, true);
    board.version = epochVersion(this.options.clock.nowMs(), board.version);
    board.log = [];
    board.warm = true;
    this.publish({ kind: 'reset', eventId, version: board.version });
  }

  private applyTo(board: EventBoard, eventId: string, states: SeatState[], quiet: boolean): void {
    const changed: SeatChange[] = [];
    const nowMs = this.options.clock.nowMs();
    for (const state of states) {
      const entry = appliedEntry(board.entries.get(state.seatNo), state, nowMs);
      if (!entry) continue;
      const held = state.status === 'held';
      board.entries.set(state.seatNo, entry);
      this.ensureCapacity(board, state.seatNo);
      // Readers see a hold that has ended as available, swept or not: a change is one
      // that moves the stored bits or what readers see (a lapsed hold held again).
      const stored = readSeatStatus(board.bits, state.seatNo);
      const seen = (board.holds.get(state.seatNo) ?? Infinity) <= nowMs ? 'available' : stored;
      if (held) board.holds.set(state.seatNo, state.expiresAtMs ?? 0);
      else board.holds.delete(state.seatNo);
      writeSeatStatus(board.bits, state.seatNo, state.status);
      if (state.status !== stored || state.status !== seen)
        changed.push({ seatNo: state.seatNo, status: state.status });
    }
    if (quiet || changed.length === 0) return;
    board.version = board.version === 0 ? epochVersion(this.options.clock.nowMs(), 0) : board.version + 1;
    const batch = { eventId, version: board.version, changes: changed };
    board.log.push(batch);
    if (board.log.length > this.options.logMax) board.log.splice(0, board.log.length - this.options.logMax);
    this.publish({ kind: 'changes', ...batch });
  }

  private ensureCapacity(board: EventBoard, seatNo: number): void {
    const needed = availabilityBytes(seatNo + 1);
    if (board.bits.length >= needed) return;
    const grown = new Uint8Array(Math.max(needed, board.bits.length * 2));
    grown.set(board.bits);
    board.bits = grown;
  }

  private publish(message: FeedMessage): void {
    for (const listener of this.listeners) queueMicrotask(() => listener(message));
  }
}
