// A small client of the catalog API for tests: venues, performers, events and search,
// each call one injected request. Helpers that must succeed throw with the answer's body.
import type { TestApp } from './harness.ts';
import { auth, dayMs, eventBody } from './harness.ts';

export interface EventSummary {
  event_id: string;
  name: string;
  category: string;
  status: string;
  starts_at: string;
  venue: { venue_id: string | null; name: string; city: string };
  performers: { performer_id: string; name: string }[];
  price_from_cents: number;
  price_to_cents: number;
  seat_count: number;
}

/** Price tiers for an event whose tiers cost exactly these cents (one section per tier). */
export function pricedMap(prices: number[], seatsPerTier = 5) {
  return {
    price_tiers: prices.map((price_cents, index) => ({
      id: `t${index}`,
      name: `Tier ${index}`,
      price_cents,
      currency: 'USD',
    })),
    seat_map: {
      sections: prices.map((_, index) => ({
        name: `S${index}`,
        price_tier: `t${index}`,
        rows: [{ label: '1', seats: seatsPerTier }],
      })),
    },
  };
}

export class CatalogClient {
  private readonly tokens = new Map<string, string>();

  constructor(
    readonly t: TestApp,
    readonly nowMs: number,
  ) {}

  async token(userId: string, role: 'customer' | 'organizer' = 'organizer'): Promise<string> {
    const key = `${role}:${userId}`;
    let token = this.tokens.get(key);
    if (!token) {
      token = await this.t.token(userId, role);
      this.tokens.set(key, token);
    }
    return token;
  }

  /** An injected request, signed in as user `as` (an organizer unless role says otherwise). */
  async request(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    url: string,
    options: { as?: string; role?: 'customer' | 'organizer'; payload?: unknown; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { ...options.headers };
    if (options.as) Object.assign(headers, auth(await this.token(options.as, options.role)));
    return this.t.app.inject({
      method,
      url,
      headers,
      ...(options.payload === undefined ? {} : { payload: options.payload as Record<string, unknown> }),
    });
  }

  async venue(organizer: string, fields: Record<string, unknown>) {
    const response = await this.request('POST', '/v1/venues', { as: organizer, payload: fields });
    if (response.statusCode !== 201) throw new Error(`venue: ${response.statusCode} ${response.body}`);
    return response.json() as { venue_id: string; name: string; city: string; updated_at: string };
  }

  async performer(organizer: string, name: string) {
    const response = await this.request('POST', '/v1/performers', { as: organizer, payload: { name } });
    if (response.statusCode !== 201) throw new Error(`performer: ${response.statusCode} ${response.body}`);
    return response.json() as { performer_id: string; name: string };
  }

  /** Creates an event starting `day` days after now (default 30), on sale since a minute ago. */
  async event(organizer: string, overrides: Record<string, unknown> & { day?: number } = {}): Promise<string> {
    const { day = 30, ...rest } = overrides;
    const body: Record<string, unknown> = {
      ...eventBody({ starts_at: new Date(this.nowMs + day * dayMs).toISOString() }, this.nowMs),
      ...rest,
    };
    if (body.venue_id !== undefined && rest.venue === undefined) delete body.venue;
    const response = await this.request('POST', '/v1/events', { as: organizer, payload: body });
    if (response.statusCode !== 201) throw new Error(`event: ${response.statusCode} ${response.body}`);
    return response.json().event_id;
  }

  async patchEvent(organizer: string, eventId: string, payload: Record<string, unknown>) {
    return this.request('PATCH', `/v1/events/${eventId}`, { as: organizer, payload });
  }

  /** GET /v1/events?query: the answer, which must be 200. */
  async list(query: string, as?: string): Promise<{ events: EventSummary[]; next_cursor: string | null }> {
    const response = await this.request('GET', `/v1/events${query ? `?${query}` : ''}`, { as });
    if (response.statusCode !== 200) throw new Error(`list ${query}: ${response.statusCode} ${response.body}`);
    return response.json();
  }

  /** The names a search finds, in the order it gives them. */
  async names(query: string): Promise<string[]> {
    return (await this.list(query)).events.map((event) => event.name);
  }

  /** Every page of a listing with this page size; the ids of each page. */
  async walk(query: string, between: (page: number) => Promise<void> = async () => {}): Promise<string[][]> {
    const pages: string[][] = [];
    let cursor: string | null = null;
    do {
      const page = await this.list(`${query}${cursor ? `&cursor=${cursor}` : ''}`);
      pages.push(page.events.map((event) => event.event_id));
      cursor = page.next_cursor;
      if (pages.length > 100) throw new Error(`walk ${query}: more than 100 pages`);
      if (cursor) await between(pages.length);
    } while (cursor);
    return pages;
  }

  /** Holds these seats for a buyer and pays for them (pm_card_visa). */
  async buy(buyer: string, eventId: string, seatIds: string[]): Promise<void> {
    const held = await this.request('POST', `/v1/events/${eventId}/reservations`, {
      as: buyer,
      role: 'customer',
      payload: { seat_ids: seatIds },
    });
    if (held.statusCode !== 201) throw new Error(`hold: ${held.statusCode} ${held.body}`);
    const confirmed = await this.request('POST', `/v1/reservations/${held.json().reservation_id}/confirm`, {
      as: buyer,
      role: 'customer',
      headers: { 'idempotency-key': `buy-${eventId}-${seatIds.join('-')}` },
      payload: { payment_method: 'pm_card_visa' },
    });
    if (confirmed.statusCode !== 201) throw new Error(`confirm: ${confirmed.statusCode} ${confirmed.body}`);
  }
}
