// Live seat maps for the clients of one process: one channel per watched event, fed by
// the change feed (every process's changes), fanned out to that event's clients. A client
// gets a snapshot, then changes; it resumes from a version it names when the channel
// still has every change after it. Changes are coalesced: a channel sends at most one
// message per minIntervalMs (the first change after a quiet spell goes out at once).
//
// The hub hands out messages as values; the transport turns them into bytes (http/sse.ts,
// Server-Sent Events). It stays here because what it decides is who gets which change
// when: channels, resuming, gap filling, coalescing, dropping slow clients.
import { readSeatStatus, writeSeatStatus } from '../domain/availability.ts';
import { DomainError } from '../domain/errors.ts';
import type { SeatStatus } from '../domain/holds.ts';
import type { Deps } from './deps.ts';
import type { Clock } from './ports/clock.ts';
import type { FeedMessage, SeatChange, SeatChangeBatch } from './ports/seat-board.ts';
import { requireEvent } from './events.ts';
import { loadSeatMap, sameMapState, type SeatMapState } from './seat-maps.ts';

/** The transport side of one client (an SSE response). */
export interface FeedClient<Message> {
  /**
   * One message object is shared by every client it goes to, so the transport can encode
   * it once (and must not change it).
   */
  send(message: Message): void;
  /** Bytes written but not yet taken by the client's connection. */
  bufferedBytes(): number;
  close(): void;
}

/** What a live seat-map client is sent. */
export type SeatFeedMessage =
  /** First, once the subscription is open (before any snapshot or change). */
  | { readonly kind: 'opened' }
  /** The whole map (a copy: it does not change after it is sent). */
  | { readonly kind: 'snapshot'; readonly state: SeatMapState }
  /** The net change of every seat since the client's last message: the seat's status now. */
  | { readonly kind: 'seat'; readonly version: number; readonly changes: readonly SeatChange[] }
  /** Nothing new: keeps an idle connection open. */
  | { readonly kind: 'heartbeat' };

export type SeatFeedClient = FeedClient<SeatFeedMessage>;

export interface SeatFeedHubOptions {
  maxSubscribers: number;
  minIntervalMs: number;
  heartbeatMs: number;
  maxBufferedBytes: number;
  /** Batches a channel keeps for resuming clients and merging. */
  recentMax: number;
  /** While the board is down, how often a channel re-reads the map from PostgreSQL. */
  degradedPollMs: number;
}

const openedMessage: SeatFeedMessage = { kind: 'opened' };
const heartbeatMessage: SeatFeedMessage = { kind: 'heartbeat' };
/** Clients written per turn of the event loop during a fan-out, so requests keep flowing. */
const fanOutBatch = 1_000;

interface Subscriber {
  client: SeatFeedClient;
  lastSent: number;
  needsSnapshot: boolean;
}

interface Channel {
  eventId: string;
  state: SeatMapState;
  recent: SeatChangeBatch[];
  subscribers: Set<Subscriber>;
  /** Feed messages that arrived while the map was being (re)loaded. */
  queued: FeedMessage[] | null;
  flushTimer: NodeJS.Timeout | null;
  lastFlushAt: number;
  snapshot: (SeatFeedMessage & { kind: 'snapshot' }) | null;
  /** Messages built for the current version, by the version a client last got. */
  payloads: { version: number; byLastSent: Map<number, SeatFeedMessage> };
}

export class SeatFeedHub {
  private readonly channels = new Map<string, Channel>();
  private readonly opening = new Map<string, Promise<Channel>>();
  private subscriberCount = 0;
  private readonly unsubscribe: () => void;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly degradedPoll: NodeJS.Timeout;
  /** Time from a change reaching this process to its message being written, per flush. */
  onFlush: ((lagMs: number, clients: number) => void) | null = null;

  /**
   * realTime: the clock the coalescing interval is measured on. Real time, not deps.clock:
   * the wait it gives is handed to setTimeout, and the application clock is the judge of
   * expiry, moved by hand in tests.
   */
  constructor(
    private readonly deps: Deps,
    private readonly options: SeatFeedHubOptions,
    private readonly realTime: Clock,
  ) {
    this.unsubscribe = deps.board.subscribe((message) => this.receive(message));
    this.heartbeat = setInterval(() => this.beat(), options.heartbeatMs);
    this.heartbeat.unref();
    this.degradedPoll = setInterval(() => this.pollWhileDegraded(), options.degradedPollMs);
    this.degradedPoll.unref();
  }

  get subscribers(): number {
    return this.subscriberCount;
  }

  /**
   * Opens a client's stream: throws EVENT_NOT_FOUND or TOO_MANY_SUBSCRIBERS before anything
   * is sent; returns the function that ends the subscription.
   */
  async connect(eventId: string, lastEventId: number | null, client: SeatFeedClient): Promise<() => void> {
    if (this.subscriberCount >= this.options.maxSubscribers) {
      throw new DomainError('TOO_MANY_SUBSCRIBERS', 'this server has as many live seat-map clients as it takes');
    }
    this.subscriberCount += 1;
    let channel: Channel;
    try {
      // Channels are keyed by the event's own id: changes are published under it, however
      // the client's URL spelled it (a UUID in capitals names the same event).
      const event = await requireEvent(this.deps, eventId);
      channel = await this.channelOf(event.id);
    } catch (error) {
      this.subscriberCount -= 1;
      throw error;
    }
    const subscriber: Subscriber = { client, lastSent: channel.state.version, needsSnapshot: true };
    if (lastEventId !== null && this.canResume(channel, lastEventId)) {
      subscriber.needsSnapshot = false;
      subscriber.lastSent = lastEventId;
    }
    channel.subscribers.add(subscriber);
    client.send(openedMessage);
    this.sendTo(channel, subscriber);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.drop(channel, subscriber);
    };
  }

  close(): void {
    this.unsubscribe();
    clearInterval(this.heartbeat);
    clearInterval(this.degradedPoll);
    for (const channel of this.channels.values()) {
      if (channel.flushTimer) clearTimeout(channel.flushTimer);
      for (const subscriber of channel.subscribers) subscriber.client.close();
      channel.subscribers.clear();
    }
    this.channels.clear();
    this.subscriberCount = 0;
  }

  private canResume(channel: Channel, lastEventId: number): boolean {
    if (lastEventId === channel.state.version) return true;
    if (lastEventId > channel.state.version) return false;
    const oldest = channel.recent[0];
    return oldest !== undefined && oldest.version <= lastEventId + 1;
  }

  /** The channel of an event, by the event's own id (event.id). */
  private channelOf(eventId: string): Promise<Channel> {
    const open = this.channels.get(eventId);
    if (open) return Promise.resolve(open);
    let opening = this.opening.get(eventId);
    if (!opening) {
      opening = loadSeatMap(this.deps, eventId)
        .then((state) => {
          const channel: Channel = {
            eventId: state.event.id,
            state,
            recent: [],
            subscribers: new Set(),
            queued: null,
            flushTimer: null,
            lastFlushAt: 0,
            snapshot: null,
            payloads: { version: state.version, byLastSent: new Map() },
          };
          this.channels.set(eventId, channel);
          return channel;
        })
        .finally(() => this.opening.delete(eventId));
      this.opening.set(eventId, opening);
    }
    return opening;
  }

  private drop(channel: Channel, subscriber: Subscriber): void {
    if (!channel.subscribers.delete(subscriber)) return;
    this.subscriberCount -= 1;
    subscriber.client.close();
    if (channel.subscribers.size === 0 && this.channels.get(channel.eventId) === channel) {
      if (channel.flushTimer) clearTimeout(channel.flushTimer);
      this.channels.delete(channel.eventId);
    }
  }

  private receive(message: FeedMessage): void {
    const channel = this.channels.get(message.eventId);
    if (!channel) return;
    if (channel.queued) {
      channel.queued.push(message);
      return;
    }
    if (message.kind === 'reset') {
      if (message.version > channel.state.version || channel.state.source === 'database') void this.reload(channel);
      return;
    }
    if (message.version <= channel.state.version) return;
    if (message.version === channel.state.version + 1) {
      this.applyBatch(channel, message);
      this.scheduleFlush(channel);
      return;
    }
    void this.catchUp(channel); // a gap: fetch what is missing from the log
  }

  private applyBatch(channel: Channel, batch: SeatChangeBatch): void {
    for (const change of batch.changes) writeSeatStatus(channel.state.bits, change.seatNo, change.status);
    channel.state = { ...channel.state, version: batch.version };
    channel.recent.push({ eventId: batch.eventId, version: batch.version, changes: batch.changes });
    if (channel.recent.length > this.options.recentMax) channel.recent.shift();
  }

  private async catchUp(channel: Channel): Promise<void> {
    if (channel.queued) return;
    channel.queued = [];
    const missing = await this.deps.board.changesSince(channel.eventId, channel.state.version);
    const contiguous = missing?.every((batch, index) => batch.version === channel.state.version + index + 1);
    if (!missing || !contiguous) {
      channel.queued = null;
      await this.reload(channel);
      return;
    }
    for (const batch of missing) this.applyBatch(channel, batch);
    this.drainQueue(channel);
    this.scheduleFlush(channel);
  }

  /** Takes a fresh map (after a reset, a gap the log cannot fill, or while degraded). */
  private async reload(channel: Channel): Promise<void> {
    if (channel.queued) return;
    channel.queued = [];
    try {
      const state = await loadSeatMap(this.deps, channel.eventId);
      if (!sameMapState(state, channel.state) || !sameBits(state.bits, channel.state.bits)) {
        channel.state = state;
        channel.recent = [];
        for (const subscriber of channel.subscribers) subscriber.needsSnapshot = true;
      }
    } catch {
      // keep the old map; the next message or poll tries again
    }
    this.drainQueue(channel);
    this.scheduleFlush(channel);
  }

  private drainQueue(channel: Channel): void {
    const queued = channel.queued ?? [];
    channel.queued = null;
    for (const message of queued) this.receive(message);
  }

  private scheduleFlush(channel: Channel): void {
    if (channel.flushTimer) return;
    const wait = Math.max(0, channel.lastFlushAt + this.options.minIntervalMs - this.realTime.nowMs());
    const receivedAt = this.realTime.nowMs();
    channel.flushTimer = setTimeout(() => {
      channel.lastFlushAt = this.realTime.nowMs();
      const subscribers = [...channel.subscribers];
      const sendBatch = (start: number) => {
        for (const subscriber of subscribers.slice(start, start + fanOutBatch)) {
          if (channel.subscribers.has(subscriber)) this.sendTo(channel, subscriber);
        }
        if (start + fanOutBatch < subscribers.length) {
          setImmediate(() => sendBatch(start + fanOutBatch));
          return;
        }
        channel.flushTimer = null; // changes that came during the fan-out get the next flush
        this.onFlush?.(this.realTime.nowMs() - receivedAt, subscribers.length);
        if (subscribers.some((subscriber) => subscriber.lastSent !== channel.state.version)) {
          this.scheduleFlush(channel);
        }
      };
      sendBatch(0);
    }, wait);
  }

  /** Sends what the subscriber lacks: one message, built once per version and starting point. */
  private sendTo(channel: Channel, subscriber: Subscriber): void {
    if (subscriber.client.bufferedBytes() > this.options.maxBufferedBytes) {
      this.drop(channel, subscriber); // too slow: dropped, never buffered without bound
      return;
    }
    const { state } = channel;
    if (!subscriber.needsSnapshot && subscriber.lastSent === state.version) return;
    if (channel.payloads.version !== state.version)
      channel.payloads = { version: state.version, byLastSent: new Map() };
    let message: SeatFeedMessage | undefined;
    if (!subscriber.needsSnapshot) {
      message = channel.payloads.byLastSent.get(subscriber.lastSent);
      if (message === undefined && this.canResume(channel, subscriber.lastSent)) {
        message = changesMessage(channel, subscriber.lastSent);
        channel.payloads.byLastSent.set(subscriber.lastSent, message);
      }
    }
    message ??= this.snapshotMessage(channel);
    subscriber.needsSnapshot = false;
    subscriber.lastSent = state.version;
    subscriber.client.send(message);
  }

  private snapshotMessage(channel: Channel): SeatFeedMessage {
    if (!channel.snapshot || !sameMapState(channel.snapshot.state, channel.state)) {
      // The channel's bits change in place with every batch: the message keeps a copy.
      channel.snapshot = { kind: 'snapshot', state: { ...channel.state, bits: channel.state.bits.slice() } };
    }
    return channel.snapshot;
  }

  private beat(): void {
    for (const channel of this.channels.values()) {
      for (const subscriber of [...channel.subscribers]) {
        if (subscriber.client.bufferedBytes() > this.options.maxBufferedBytes) this.drop(channel, subscriber);
        else subscriber.client.send(heartbeatMessage);
      }
    }
  }

  private pollWhileDegraded(): void {
    if (this.deps.board.health() !== 'down') return;
    for (const channel of this.channels.values()) void this.reload(channel);
  }
}

/** One `seat` message with the net change of every seat after `after`. */
function changesMessage(channel: Channel, after: number): SeatFeedMessage {
  const net = new Map<number, SeatStatus>();
  for (const batch of channel.recent) {
    if (batch.version <= after) continue;
    for (const change of batch.changes) net.set(change.seatNo, change.status);
  }
  const changes = [...net.keys()]
    .sort((a, b) => a - b)
    .map((seatNo) => ({ seatNo, status: readSeatStatus(channel.state.bits, seatNo) }));
  return { kind: 'seat', version: channel.state.version, changes };
}

function sameBits(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(b);
}
