// Live waiting-room positions (Server-Sent Events). Every interval, this process asks the
// waiting room where each of its connected buyers stands (one batched call per event, not
// one per buyer) and writes a `queue` message to those whose answer changed: their
// position, the estimated wait, and at last the admission with its token. Messages are
// values; the transport turns them into bytes (http/sse.ts).
//
// A seat change of an event with clients here (any process's: the board's change feed)
// brings the next pass forward: when the last seat is booked, everyone waiting is told
// "sold out" at once, and when one comes back, that admission goes on.
import { DomainError } from '../domain/errors.ts';
import type { Deps } from './deps.ts';
import type { FeedClient } from './seat-feed-hub.ts';
import { admissionOf, queueStatus, queueView, type QueueView } from './waiting-room.ts';

/** What a live waiting-room client is sent. */
export type QueueFeedMessage =
  /** Where the buyer stands now (sent when it changed). */
  | { readonly kind: 'queue'; readonly view: QueueView }
  /** Nothing new: keeps an idle connection open. */
  | { readonly kind: 'heartbeat' };

export type QueueFeedClient = FeedClient<QueueFeedMessage>;

export interface QueueFeedHubOptions {
  maxSubscribers: number;
  intervalMs: number;
  heartbeatMs: number;
  maxBufferedBytes: number;
  onError: (error: unknown) => void;
}

interface Subscriber {
  userId: string;
  client: QueueFeedClient;
  /** The last view sent, as JSON: a new view is sent only when it differs. */
  lastSent: string;
}

const heartbeatMessage: QueueFeedMessage = { kind: 'heartbeat' };
const statesPerCall = 1_000;
/** A burst of seat changes (a batch of bookings) makes one early pass, not one per change. */
const changeSettleMs = 50;

export class QueueFeedHub {
  private readonly rooms = new Map<string, Set<Subscriber>>();
  private subscriberCount = 0;
  private readonly refreshTimer: NodeJS.Timeout;
  private readonly heartbeatTimer: NodeJS.Timeout;
  private refreshing = false;
  /** A seat change arrived during a pass: another pass follows it. */
  private refreshAgain = false;
  private changeTimer: NodeJS.Timeout | null = null;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly deps: Deps,
    private readonly options: QueueFeedHubOptions,
  ) {
    this.refreshTimer = setInterval(() => void this.refresh(), options.intervalMs);
    this.refreshTimer.unref();
    this.heartbeatTimer = setInterval(() => this.beat(), options.heartbeatMs);
    this.heartbeatTimer.unref();
    this.unsubscribe = deps.board.subscribe((message) => {
      if (this.rooms.has(message.eventId)) this.refreshSoon();
    });
  }

  private refreshSoon(): void {
    if (this.changeTimer) return;
    this.changeTimer = setTimeout(() => {
      this.changeTimer = null;
      if (this.refreshing) this.refreshAgain = true;
      else void this.refresh();
    }, changeSettleMs);
    this.changeTimer.unref();
  }

  get subscribers(): number {
    return this.subscriberCount;
  }

  /** Sends where the buyer stands now; throws (before anything is sent) if they are not in the room. */
  async connect(eventId: string, userId: string, client: QueueFeedClient): Promise<() => void> {
    // Checked and counted in one step, before the await: connects that arrive together
    // cannot all pass the check first.
    if (this.subscriberCount >= this.options.maxSubscribers) {
      throw new DomainError('TOO_MANY_SUBSCRIBERS', 'this server has as many live clients as it takes');
    }
    this.subscriberCount += 1;
    let view: QueueView;
    try {
      view = await queueStatus(this.deps, userId, eventId);
    } catch (error) {
      this.subscriberCount -= 1;
      throw error;
    }
    const subscriber: Subscriber = { userId, client, lastSent: JSON.stringify(view) };
    client.send({ kind: 'queue', view });
    // Keyed by the event's own id (view.event_id), however the URL spelled it.
    let room = this.rooms.get(view.event_id);
    if (!room) {
      room = new Set();
      this.rooms.set(view.event_id, room);
    }
    room.add(subscriber);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.subscriberCount -= 1;
      room.delete(subscriber);
      if (room.size === 0 && this.rooms.get(view.event_id) === room) this.rooms.delete(view.event_id);
    };
  }

  /** One pass over every room with clients here; a pass still running makes the next one skip. */
  async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      for (const [eventId, room] of this.rooms) {
        const event = await this.deps.events.findEvent(eventId);
        if (!event) continue;
        const admission = await admissionOf(this.deps, event, 'fresh');
        const subscribers = [...room];
        for (let start = 0; start < subscribers.length; start += statesPerCall) {
          const batch = subscribers.slice(start, start + statesPerCall);
          const nowMs = this.deps.clock.nowMs();
          const states = await this.deps.waitingRoom.states(
            eventId,
            batch.map((subscriber) => subscriber.userId),
            nowMs,
          );
          for (const [index, subscriber] of batch.entries()) {
            const view = await queueView(this.deps, event, subscriber.userId, states[index]!, nowMs, admission);
            const json = JSON.stringify(view);
            if (json === subscriber.lastSent) continue;
            subscriber.lastSent = json;
            this.send(subscriber, { kind: 'queue', view });
          }
        }
      }
    } catch (error) {
      this.options.onError(error); // the next pass tries again
    } finally {
      this.refreshing = false;
    }
    if (this.refreshAgain) {
      this.refreshAgain = false;
      await this.refresh();
    }
  }

  private send(subscriber: Subscriber, message: QueueFeedMessage): void {
    // A client that does not read is cut off rather than buffered without end.
    if (subscriber.client.bufferedBytes() > this.options.maxBufferedBytes) subscriber.client.close();
    else subscriber.client.send(message);
  }

  private beat(): void {
    for (const room of this.rooms.values()) for (const subscriber of room) this.send(subscriber, heartbeatMessage);
  }

  close(): void {
    clearInterval(this.refreshTimer);
    clearInterval(this.heartbeatTimer);
    if (this.changeTimer) clearTimeout(this.changeTimer);
    this.unsubscribe();
    for (const room of this.rooms.values()) for (const subscriber of room) subscriber.client.close();
    this.rooms.clear();
  }
}
