// The badges on an event card: where the sale stands and whether buyers line up first,
// from what the event list answers. No DOM, no clock: the time is passed in
// (test/unit/web-sale-badges.test.ts runs this in Node). Seats left and "Sold out" would
// need seat counts, which the list does not carry (they change with every hold, and the
// list is cached): the card shows the capacity.
import type { EventSummary } from './api.ts';
import { dateTime } from './format.ts';

export interface SaleBadge {
  text: string;
  kind: 'cancelled' | 'upcoming' | 'on-sale' | 'waiting-room';
}

export function saleBadges(
  event: Pick<EventSummary, 'status' | 'sale_opens_at' | 'waiting_room_enabled'>,
  nowMs: number,
): SaleBadge[] {
  if (event.status === 'cancelled') return [{ text: 'Cancelled', kind: 'cancelled' }];
  const badges: SaleBadge[] = [
    Date.parse(event.sale_opens_at) > nowMs
      ? { text: `Sale opens ${dateTime(event.sale_opens_at)}`, kind: 'upcoming' }
      : { text: 'On sale', kind: 'on-sale' },
  ];
  if (event.waiting_room_enabled) badges.push({ text: 'Waiting room', kind: 'waiting-room' });
  return badges;
}
