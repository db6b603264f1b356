// Events as rows: the columns, and the mapping to EventRecord. Shared by the event store
// (reads and writes one event) and the catalog store (lists and searches them).
import { waitingRoomOff, type WaitingRoomSettings } from '../../domain/waiting-room.ts';
import type { EventRecord, RefundPolicy } from '../../app/ports/events.ts';

export interface EventRow {
  id: string;
  organizer_id: string;
  name: string;
  category: string;
  starts_at: Date;
  venue_name: string;
  venue_city: string;
  sale_opens_at: Date;
  max_seats_per_user: number;
  max_seats_per_card: number | null;
  currency: string;
  price_tiers: EventRecord['priceTiers'];
  sections: EventRecord['sections'];
  seat_count: number;
  created_at: Date;
  status: EventRecord['status'];
  description: string;
  venue_id: string | null;
  price_min_cents: number;
  price_max_cents: number;
  updated_at: Date;
  performers: { id: string; name: string }[];
  waiting_room: StoredWaitingRoom;
  refund_policy: { buyer_cancel_until_hours: number; fee_percent: number } | null;
}

/** The refund_policy column: snake_case, as the API shows it. */
export function storedRefundPolicy(policy: RefundPolicy | null): string | null {
  return policy
    ? JSON.stringify({ buyer_cancel_until_hours: policy.buyerCancelUntilHours, fee_percent: policy.feePercent })
    : null;
}

/** The waiting_room column: snake_case, as the API shows it; absent members take defaults. */
interface StoredWaitingRoom {
  enabled: boolean;
  admit_per_minute?: number;
  max_active_shoppers?: number | null;
  admission_window_seconds?: number;
  paused?: boolean;
  challenge?: boolean;
}

export function storedWaitingRoom(settings: WaitingRoomSettings): string {
  return JSON.stringify({
    enabled: settings.enabled,
    admit_per_minute: settings.admitPerMinute,
    max_active_shoppers: settings.maxActiveShoppers,
    admission_window_seconds: settings.admissionWindowMs / 1000,
    paused: settings.paused,
    challenge: settings.challenge,
  });
}

function toWaitingRoom(stored: StoredWaitingRoom): WaitingRoomSettings {
  return {
    enabled: stored.enabled,
    admitPerMinute: stored.admit_per_minute ?? waitingRoomOff.admitPerMinute,
    maxActiveShoppers: stored.max_active_shoppers ?? null,
    admissionWindowMs:
      stored.admission_window_seconds === undefined
        ? waitingRoomOff.admissionWindowMs
        : stored.admission_window_seconds * 1000,
    paused: stored.paused ?? false,
    challenge: stored.challenge ?? false,
  };
}

export const eventInsertColumns = `id, organizer_id, name, category, starts_at, venue_name, venue_city, sale_opens_at,
  max_seats_per_user, currency, price_tiers, sections, seat_count, created_at, status, description, venue_id,
  price_min_cents, price_max_cents, updated_at, waiting_room, refund_policy, max_seats_per_card`;

/** Every column of an EventRow, for a query over `events e`. */
export const eventColumns = `e.id, e.organizer_id, e.name, e.category, e.starts_at, e.venue_name, e.venue_city,
  e.sale_opens_at, e.max_seats_per_user, e.currency, e.price_tiers, e.sections, e.seat_count, e.created_at,
  e.status, e.description, e.venue_id, e.price_min_cents, e.price_max_cents, e.updated_at, e.waiting_room, e.refund_policy,
  e.max_seats_per_card,
  (SELECT coalesce(jsonb_agg(jsonb_build_object('id', p.id, 'name', p.name) ORDER BY ep.position), '[]')
   FROM event_performers ep JOIN performers p ON p.id = ep.performer_id WHERE ep.event_id = e.id) AS performers`;

export function toEvent(row: EventRow): EventRecord {
  return {
    id: row.id,
    organizerId: row.organizer_id,
    name: row.name,
    category: row.category,
    description: row.description,
    status: row.status,
    startsAtMs: row.starts_at.getTime(),
    venue: { name: row.venue_name, city: row.venue_city },
    venueId: row.venue_id,
    performerIds: row.performers.map((performer) => performer.id),
    performers: row.performers,
    priceMinCents: row.price_min_cents,
    priceMaxCents: row.price_max_cents,
    updatedAtMs: row.updated_at.getTime(),
    saleOpensAtMs: row.sale_opens_at.getTime(),
    maxSeatsPerUser: row.max_seats_per_user,
    maxSeatsPerCard: row.max_seats_per_card,
    currency: row.currency,
    priceTiers: row.price_tiers,
    sections: row.sections,
    seatCount: row.seat_count,
    waitingRoom: toWaitingRoom(row.waiting_room),
    refundPolicy: row.refund_policy
      ? {
          buyerCancelUntilHours: row.refund_policy.buyer_cancel_until_hours,
          feePercent: row.refund_policy.fee_percent,
        }
      : null,
    createdAtMs: row.created_at.getTime(),
  };
}
