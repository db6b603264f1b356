// The organizer's live sale figures (Server-Sent Events). One channel per watched event in
// this process: every interval it reads the event's figures once (statsOf, shared by every
// client of the event) and sends them to the clients when they changed, so a client gets
// at most one message per interval, and nothing while the sale is quiet but heartbeats.
// Messages are values; the transport turns them into bytes (http/sse.ts).
import { DomainError } from '../domain/errors.ts';
import type { Deps } from './deps.ts';
import { requireStatsViewer, statsOf, type EventStatsView, type StatsViewer } from './event-stats.ts';
import type { FeedClient } from './seat-feed-hub.ts';

export type StatsFeedMessage =
  | { readonly kind: 'stats'; readonly view: EventStatsView }
  /** Nothing new: keeps an idle connection open. */
  | { readonly kind: 'heartbeat' };

export interface StatsFeedHubOptions {
  maxSubscribers: number;
  intervalMs: number;
  heartbeatMs: number;
  maxBufferedBytes: number;
  onError: (error: unknown) => void;
}

interface Channel {
  clients: Set<FeedClient<StatsFeedMessage>>;
  /** The last figures sent, as JSON without their as_of: a change is a difference here. */
  lastSent: string;
}

const heartbeatMessage: StatsFeedMessage = { kind: 'heartbeat' };

const figuresOf = (view: EventStatsView) => JSON.stringify({ ...view, as_of: null });

export class StatsFeedHub {
  private readonly channels = new Map<string, Channel>();
  private subscriberCount = 0;
  private readonly refreshTimer: NodeJS.Timeout;
  private readonly heartbeatTimer: NodeJS.Timeout;
  private refreshing = false;

  constructor(
    private readonly deps: Deps,
    private readonly options: StatsFeedHubOptions,
  ) {
    this.refreshTimer = setInterval(() => void this.refresh(), options.intervalMs);
    this.refreshTimer.unref();
    this.heartbeatTimer = setInterval(() => this.beat(), options.heartbeatMs);
    this.heartbeatTimer.unref();
  }

  get subscribers(): number {
    return this.subscriberCount;
  }

  /** Sends the figures now; throws (before anything is sent) when the viewer may not see them. */
  async connect(viewer: StatsViewer, eventId: string, client: FeedClient<StatsFeedMessage>): Promise<() => void> {
    // Checked and counted in one step, before the await.
    if (this.subscriberCount >= this.options.maxSubscribers) {
      throw new DomainError('TOO_MANY_SUBSCRIBERS', 'this server has as many live clients as it takes');
    }
    this.subscriberCount += 1;
    let view: EventStatsView;
    try {
      view = await statsOf(this.deps, await requireStatsViewer(this.deps, viewer, eventId));
    } catch (error) {
      this.subscriberCount -= 1;
      throw error;
    }
    client.send({ kind: 'stats', view });
    let channel = this.channels.get(view.event_id);
    if (!channel) {
      channel = { clients: new Set(), lastSent: figuresOf(view) };
      this.channels.set(view.event_id, channel);
    }
    channel.clients.add(client);
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.subscriberCount -= 1;
      channel.clients.delete(client);
      if (channel.clients.size === 0 && this.channels.get(view.event_id) === channel) {
        this.channels.delete(view.event_id);
      }
    };
  }

  /** One pass over the watched events; a pass still running makes the next one skip. */
  async refresh(): Promise<void> {
    if (this.refreshing) return;
    this.refreshing = true;
    try {
      for (const [eventId, channel] of this.channels) {
        try {
          const event = await this.deps.events.findEvent(eventId);
          if (!event) continue;
          const view = await statsOf(this.deps, event);
          const figures = figuresOf(view);
          if (figures === channel.lastSent) continue;
          channel.lastSent = figures;
          const message: StatsFeedMessage = { kind: 'stats', view };
          for (const client of channel.clients) this.send(client, message);
        } catch (error) {
          this.options.onError(error); // the next pass tries again
        }
      }
    } finally {
      this.refreshing = false;
    }
  }

  private send(client: FeedClient<StatsFeedMessage>, message: StatsFeedMessage): void {
    // A client that does not read is cut off rather than buffered without end.
    if (client.bufferedBytes() > this.options.maxBufferedBytes) client.close();
    else client.send(message);
  }

  private beat(): void {
    for (const channel of this.channels.values())
      for (const client of channel.clients) this.send(client, heartbeatMessage);
  }

  close(): void {
    clearInterval(this.refreshTimer);
    clearInterval(this.heartbeatTimer);
    for (const channel of this.channels.values()) for (const client of channel.clients) client.close();
    this.channels.clear();
  }
}
