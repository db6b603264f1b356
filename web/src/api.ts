// The HTTP API as the pages use it: JSON in and out, problem+json errors as ApiError.
import { currentSession, signOut } from './session.ts';
import type { EventSection, PriceTier, SeatList, SeatListEntry } from './seat-map/model.ts';

/** Sent on window when the service refused the stored token (e.g. a demo server restarted with a new secret). */
export const sessionEndedEvent = 'boxoffice:session-ended';

export interface Problem {
  status: number;
  code: string;
  title?: string;
  detail?: string;
  conflicting_seat_ids?: string[];
  retry_after_seconds?: number;
  errors?: { path: string; message: string }[];
  /** CARD_LIMIT_REACHED: the event's limit, and the seats the card already has. */
  max_seats_per_card?: number;
  card_seats?: number;
  /** ALREADY_CHECKED_IN: when the first scan was. */
  checked_in_at?: string;
  /** ALREADY_CHECKED_IN, TICKET_REVOKED: the ticket scanned. */
  ticket?: Ticket;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? `request failed (${problem.status})`);
  }
  get status() {
    return this.problem.status;
  }
  get code() {
    return this.problem.code;
  }
}

// The seat map's own module defines the shapes it reads; the pages use the same ones.
export type { SeatStatus, SectionPosition } from './seat-map/model.ts';
export type Tier = PriceTier;
export type Section = EventSection;
export type SeatListing = SeatListEntry;
export type SeatsDocument = SeatList;

export interface WaitingRoomSettings {
  enabled: boolean;
  admit_per_minute: number;
  max_active_shoppers: number | null;
  admission_window_seconds: number;
  /** Admission stopped by the organizer for now. */
  paused: boolean;
  /** Joining needs a solved proof-of-work check. */
  challenge: boolean;
}
export interface EventSummary {
  event_id: string;
  name: string;
  category: string;
  status: 'draft' | 'published' | 'cancelled';
  starts_at: string;
  venue: { venue_id: string | null; name: string; city: string };
  performers: { performer_id: string; name: string }[];
  sale_opens_at: string;
  seat_count: number;
  /** Buyers join a waiting room before they may hold seats. */
  waiting_room_enabled: boolean;
  currency: string;
  price_from_cents: number;
  price_to_cents: number;
}
/** Absent (null): buyers cannot cancel. */
export interface RefundPolicy {
  /** Buyers may cancel until this many hours before the event starts. */
  buyer_cancel_until_hours: number;
  /** Kept from each buyer refund. */
  fee_percent: number;
}
export interface EventDetail extends EventSummary {
  organizer_id?: string;
  description: string;
  max_seats_per_user: number;
  waiting_room: WaitingRoomSettings;
  refund_policy: RefundPolicy | null;
  on_sale: boolean;
  price_tiers: Tier[];
  sections: Section[];
  /** Seat i (in seat order) is prefix + i. */
  seat_ids?: { kind: 'prefix-index'; prefix: string };
  /** blocked: off sale in the organizer's blocks. */
  counts: { available: number; held: number; booked: number; blocked: number };
}
export interface BookedSeat {
  seat_id: string;
  section: string;
  row: string;
  number: number;
  price_cents: number;
}
export interface Reservation {
  reservation_id: string;
  event_id: string;
  status: 'active' | 'confirmed' | 'cancelled' | 'expired';
  created_at: string;
  expires_at: string;
  seats: BookedSeat[];
  total_cents: number;
  currency: string;
  booking_id: string | null;
  /** The latest payment attempt's state; absent before any. */
  payment_status?: 'started' | 'requires_action' | 'processing' | 'succeeded' | 'failed' | 'voided';
}
/** The 202 of a confirmation whose payment waits on the buyer's bank (3-D Secure) or is processing. */
export interface PendingPayment {
  reservation_id: string;
  status: 'payment_pending';
  /** The hold is kept until then while the payment is pending. */
  expires_at: string;
  payment: {
    payment_id: string;
    status: 'requires_action' | 'processing';
    client_secret?: string;
    next_action?: { type: 'redirect_to_url'; url: string };
  };
}
export interface Refund {
  refund_id: string;
  amount_cents: number;
  /** Kept under the refund policy. */
  fee_cents: number;
  seat_ids: string[];
  reason: 'buyer_cancelled' | 'organizer' | 'event_cancelled' | 'hold_lost';
  /** failed: the provider refused; the service tries again. */
  status: 'pending' | 'succeeded' | 'failed';
  created_at: string;
}
export interface Booking {
  booking_id: string;
  reservation_id: string;
  event_id: string;
  status: 'confirmed' | 'partially_cancelled' | 'cancelled';
  /** The seats it still holds. */
  seats: BookedSeat[];
  /** What was paid. */
  total_cents: number;
  currency: string;
  created_at: string;
  refunds?: Refund[];
}
/** GET /v1/events/{id}/cancellation: the refunds of a cancelled event. */
export interface EventCancellation {
  status: 'running' | 'done';
  /** null until the job has started. */
  bookings: number | null;
  refunded: number;
  failed: number;
  started_at: string | null;
  finished_at: string | null;
}
export type TicketStatus = 'valid' | 'revoked' | 'checked_in';
export interface Ticket {
  ticket_id: string;
  seat_id: string;
  section: string;
  row: string;
  number: number;
  status: TicketStatus;
  /** The signed code its QR carries. */
  code: string;
  checked_in_at?: string | null;
  booking_id?: string;
}
/** GET /v1/bookings/{id}/tickets */
export interface BookingTickets {
  booking_id: string;
  event: { name: string; venue: string; city: string; starts_at: string };
  tickets: Ticket[];
}
/** POST /v1/events/{id}/checkins: 200 */
export interface CheckIn {
  result: 'admitted';
  ticket: Ticket;
}
export interface QueueState {
  event_id: string;
  status: 'waiting' | 'admitted' | 'expired' | 'sold_out';
  /** The organizer has paused admission. */
  paused: boolean;
  position: number | null;
  ahead: number | null;
  estimated_wait_seconds: number | null;
  sale_opens_at: string;
  admission_token?: string;
  admission_expires_at?: string;
}

interface RequestOptions {
  method?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/**
 * A request with the signed-in user's token: the Response when it is 2xx, else an ApiError
 * (a 401 also ends the stored session). For JSON, text (an SVG) or a blob (a PDF) alike.
 */
async function authorizedFetch(path: string, options: RequestOptions, accept: string): Promise<Response> {
  const headers: Record<string, string> = { accept, ...options.headers };
  const session = currentSession();
  if (session) headers.authorization = `Bearer ${session.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? 'GET',
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
      cache: 'no-store',
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError({ status: 0, code: 'NETWORK', detail: 'the service cannot be reached; check your connection' });
  }
  if (response.status === 401 && session) {
    signOut();
    window.dispatchEvent(new Event(sessionEndedEvent));
  }
  if (!response.ok) {
    const text = await response.text();
    let parsed: unknown = null;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      parsed = null;
    }
    const problem = (parsed && typeof parsed === 'object' ? parsed : {}) as Partial<Problem>;
    throw new ApiError({ ...problem, status: response.status, code: problem.code ?? `HTTP_${response.status}` });
  }
  return response;
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await authorizedFetch(path, options, 'application/json');
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  try {
    return (text ? JSON.parse(text) : null) as T;
  } catch {
    return null as T;
  }
}

/** A text document (an SVG) that needs the token, so it cannot be a plain <img src>. */
export async function apiText(path: string, accept: string, options: RequestOptions = {}): Promise<string> {
  return (await authorizedFetch(path, options, accept)).text();
}

/** A file (a PDF) that needs the token: saved through a blob URL. */
export async function apiBlob(path: string, accept: string, options: RequestOptions = {}): Promise<Blob> {
  return (await authorizedFetch(path, options, accept)).blob();
}

/** A readable sentence for an error, with the fields of a validation problem. */
export function describeError(error: unknown): string {
  if (!(error instanceof ApiError)) return error instanceof Error ? error.message : String(error);
  const fields = error.problem.errors?.map((field) => `${field.path}: ${field.message}`) ?? [];
  return fields.length > 0 ? `${error.message} (${fields.slice(0, 5).join('; ')})` : error.message;
}

export function query(parameters: Record<string, string | number | boolean | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(parameters)) {
    if (value !== undefined && value !== null && value !== '') search.set(name, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}
