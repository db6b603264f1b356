// The waiting room in process memory, for one process (the embedded default). Same rules
// as the Redis queue: pre-queue ordered by random keys, then arrivals in order.
import type { AdmissionLimits, AdmissionNotice, QueueState, WaitingRoom } from '../../app/ports/waiting-room.ts';
import { admissionsDue, refillMeter, type AdmissionMeter } from '../../domain/waiting-room.ts';

class Room {
  /** Pre-queue: random key per user; sorted lazily, popped from preHead. */
  readonly pre = new Map<string, number>();
  preSorted: string[] = [];
  preRank = new Map<string, number>();
  preHead = 0;
  preDirty = false;
  /** Arrivals after the opening, in order, popped from lineHead. */
  readonly line: string[] = [];
  readonly lineIndex = new Map<string, number>();
  lineHead = 0;
  readonly admitted = new Map<string, number>();
  meter: AdmissionMeter = { refilledAtMs: null, places: 0 };
  /** Addresses left at joining, until the admission; then a notice each. */
  readonly contacts = new Map<string, string>();
  notices: AdmissionNotice[] = [];

  waiting(): number {
    return this.pre.size + this.line.length - this.lineHead;
  }

  sortPre(): void {
    if (!this.preDirty) return;
    this.preSorted = [...this.pre.keys()].sort((a, b) => this.pre.get(a)! - this.pre.get(b)! || (a < b ? -1 : 1));
    this.preRank = new Map(this.preSorted.map((user, index) => [user, index]));
    this.preHead = 0;
    this.preDirty = false;
  }

  state(userId: string, nowMs: number): QueueState {
    const expiresAtMs = this.admitted.get(userId);
    if (expiresAtMs !== undefined) {
      return expiresAtMs > nowMs ? { kind: 'admitted', expiresAtMs } : { kind: 'expired', expiredAtMs: expiresAtMs };
    }
    if (this.pre.has(userId)) {
      this.sortPre();
      return { kind: 'waiting', ahead: this.preRank.get(userId)! - this.preHead };
    }
    const index = this.lineIndex.get(userId);
    if (index !== undefined) return { kind: 'waiting', ahead: this.pre.size + index - this.lineHead };
    return { kind: 'absent' };
  }

  pop(): string | undefined {
    if (this.pre.size > 0) {
      this.sortPre();
      const user = this.preSorted[this.preHead++]!;
      this.pre.delete(user);
      this.preRank.delete(user);
      return user;
    }
    if (this.lineHead >= this.line.length) return undefined;
    const user = this.line[this.lineHead]!;
    this.line[this.lineHead++] = '';
    this.lineIndex.delete(user);
    if (this.lineHead > 1024 && this.lineHead * 2 > this.line.length) this.compactLine();
    return user;
  }

  private compactLine(): void {
    this.line.splice(0, this.lineHead);
    this.lineHead = 0;
    this.line.forEach((user, index) => this.lineIndex.set(user, index));
  }

  activeShoppers(nowMs: number): number {
    let active = 0;
    for (const expiresAtMs of this.admitted.values()) if (expiresAtMs > nowMs) active += 1;
    return active;
  }
}

export class MemoryWaitingRoom implements WaitingRoom {
  private readonly rooms_ = new Map<string, Room>();
  /** Rooms the admitter ticks: joined since they were last closed. */
  private readonly open = new Set<string>();

  private room(eventId: string): Room {
    let room = this.rooms_.get(eventId);
    if (!room) {
      room = new Room();
      this.rooms_.set(eventId, room);
    }
    return room;
  }

  async join(
    eventId: string,
    userId: string,
    queueKey: number | null,
    nowMs: number,
    email: string | null = null,
  ): Promise<QueueState> {
    const room = this.room(eventId);
    this.open.add(eventId);
    const current = room.state(userId, nowMs);
    if (email !== null && current.kind !== 'admitted') room.contacts.set(userId, email);
    if (current.kind === 'admitted' || current.kind === 'waiting') return current;
    if (current.kind === 'expired') room.admitted.delete(userId);
    if (queueKey === null) {
      room.lineIndex.set(userId, room.line.length);
      room.line.push(userId);
    } else {
      room.pre.set(userId, queueKey);
      room.preDirty = true;
    }
    return room.state(userId, nowMs);
  }

  async states(eventId: string, userIds: string[], nowMs: number): Promise<QueueState[]> {
    const room = this.rooms_.get(eventId);
    return userIds.map((userId) => (room ? room.state(userId, nowMs) : { kind: 'absent' }));
  }

  async admit(eventId: string, limits: AdmissionLimits): Promise<number> {
    const room = this.rooms_.get(eventId);
    if (!room) return 0;
    const meter = refillMeter(room.meter, limits.nowMs, limits.ratePerMs, limits.burst);
    const active = limits.maxActiveShoppers === null ? 0 : room.activeShoppers(limits.nowMs);
    const due = admissionsDue(meter.places, active, limits.maxActiveShoppers, room.waiting(), limits.batchMax);
    for (let count = 0; count < due; count += 1) {
      const userId = room.pop()!;
      const expiresAtMs = limits.nowMs + limits.admissionWindowMs;
      room.admitted.set(userId, expiresAtMs);
      const email = room.contacts.get(userId);
      if (email !== undefined) {
        room.notices.push({ userId, email, expiresAtMs });
        room.contacts.delete(userId);
      }
    }
    room.meter = { refilledAtMs: meter.refilledAtMs, places: meter.places - due };
    return due;
  }

  async notices(eventId: string, limit: number): Promise<AdmissionNotice[]> {
    return (this.rooms_.get(eventId)?.notices ?? []).slice(0, limit);
  }

  async dropNotices(eventId: string, notices: AdmissionNotice[]): Promise<void> {
    const room = this.rooms_.get(eventId);
    if (!room) return;
    const dropped = new Set(notices);
    room.notices = room.notices.filter((notice) => !dropped.has(notice));
  }

  async finish(eventId: string, userId: string): Promise<void> {
    this.rooms_.get(eventId)?.admitted.delete(userId);
  }

  async rooms(): Promise<string[]> {
    return [...this.open];
  }

  async retainUntil(): Promise<void> {
    // One process's memory: the room goes with the process.
  }

  async closeRoom(eventId: string): Promise<void> {
    this.open.delete(eventId);
  }

  async waitingCount(eventId: string): Promise<number> {
    return this.rooms_.get(eventId)?.waiting() ?? 0;
  }

  async admittedCount(eventId: string, nowMs: number): Promise<number> {
    return this.rooms_.get(eventId)?.activeShoppers(nowMs) ?? 0;
  }

  async close(): Promise<void> {
    this.rooms_.clear();
    this.open.clear();
  }
}
