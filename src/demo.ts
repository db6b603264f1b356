// The first start on an empty embedded database gets an event on sale now, so a new
// user has something to click and curl at once.
import type { Deps } from './app/deps.ts';
import { createEvent } from './app/events.ts';

const dayMs = 24 * 3600 * 1000;

export async function seedDemoEvent(deps: Deps): Promise<string | null> {
  if (await deps.events.hasEvents()) return null;
  const nowMs = deps.clock.nowMs();
  const rows = (count: number, seats: number) =>
    Array.from({ length: count }, (_, index) => ({ label: String(index + 1), seats }));
  const { event_id: eventId } = await createEvent(deps, 'demo-organizer', {
    name: 'Boxoffice Demo Night',
    category: 'concert',
    starts_at: new Date(nowMs + 30 * dayMs).toISOString(),
    venue: { name: 'Demo Arena', city: 'Springfield' },
    sale_opens_at: new Date(nowMs - 60_000).toISOString(),
    max_seats_per_user: 8,
    price_tiers: [
      { id: 'floor', name: 'Floor', price_cents: 15000, currency: 'USD' },
      { id: 'lower', name: 'Lower Bowl', price_cents: 9000, currency: 'USD' },
      { id: 'upper', name: 'Upper Bowl', price_cents: 4500, currency: 'USD' },
    ],
    seat_map: {
      sections: [
        { name: 'Floor', price_tier: 'floor', rows: rows(20, 30) },
        { name: 'Lower 101', price_tier: 'lower', rows: rows(25, 40) },
        { name: 'Lower 102', price_tier: 'lower', rows: rows(25, 40) },
        { name: 'Upper 201', price_tier: 'upper', rows: rows(30, 50) },
      ],
    },
  });
  return eventId;
}
