import type { SeatBlockStore } from './ports/seat-blocks.ts';
import type { SeatMapLimits } from '../domain/seat-map.ts';
import type { AdmissionTokens } from './ports/admission-tokens.ts';
import type { BookingStore } from './ports/bookings.ts';
import type { DatabaseProbe } from './ports/database.ts';
import type { EventStore } from './ports/events.ts';
import type { IdempotencyStore } from './ports/idempotency.ts';
import type { PaymentLedger } from './ports/ledger.ts';
import type { ReservationStore } from './ports/reservations.ts';
import type { CatalogCache, CatalogStore } from './ports/catalog.ts';
import type { Clock } from './ports/clock.ts';
import type { Payments } from './ports/payments.ts';
import type { RateLimiter } from './ports/rate-limiter.ts';
import type { SeatBoard } from './ports/seat-board.ts';
import type { WaitingRoom } from './ports/waiting-room.ts';
import type { JoinChallenges, SpentChallenges } from './ports/join-challenges.ts';
import type { MailQueue } from './ports/mail-queue.ts';
import type { Mailer, TicketDocuments } from './ports/notifications.ts';
import type { TicketCodes, TicketStore } from './ports/tickets.ts';
import type { EventStatsStore } from './ports/event-stats.ts';

export interface Settings {
  holdTtlMs: number;
  seatsPerHoldMax: number;
  seatMapLimits: SeatMapLimits;
  idempotencyInFlightStaleMs: number;
  /** Off: every hold goes straight to PostgreSQL (the board still mirrors the map). */
  holdGate: boolean;
  admitter: { tickMs: number; batchMax: number };
  queueStreamIntervalMs: number;
  /** How often the organizer's stats stream looks for changed figures (at most one message per interval). */
  statsStreamIntervalMs: number;
  /** GET …/seats: the largest event it lists, and how long a built list is shared. */
  seatList: { seatsMax: number; maxAgeMs: number };
  /** A payment pending at the provider (3-D Secure, processing) keeps its hold this long. */
  paymentPendingGraceMs: number;
  /** Failed refunds are tried again after baseMs, doubling up to maxMs. */
  refundRetry: { baseMs: number; maxMs: number };
  /** Pending payments the webhooks said nothing of for this long are asked of the provider. */
  reconcileAfterMs: number;
  /** Failed mail is tried again after baseMs, doubling up to maxMs. */
  mailRetry: { baseMs: number; maxMs: number };
}

/** Everything a use case may touch, passed in: no use case reaches for a global. */
export interface Deps {
  /** Events and seat maps (a short-lived copy of each event per process). */
  events: EventStore;
  /** Holds: PostgreSQL decides every one. */
  reservations: ReservationStore;
  idempotency: IdempotencyStore;
  /** Bookings and the payments that make them. */
  bookings: BookingStore;
  /** Charges, refunds, pending payments and cancellations. */
  ledger: PaymentLedger;
  database: DatabaseProbe;
  /** Venues, performers and search. */
  catalog: CatalogStore;
  catalogCache: CatalogCache;
  /** The hot path: hold gate, live seat map and change feed (Redis, or in-process). */
  board: SeatBoard;
  payments: Payments;
  clock: Clock;
  /** The line in front of a sale (Redis, or in-process). */
  waitingRoom: WaitingRoom;
  admissionTokens: AdmissionTokens;
  /** The door (waiting_room.challenge): proof-of-work challenges, and the ones already used. */
  joinChallenges: JoinChallenges;
  spentChallenges: SpentChallenges;
  rateLimiter: RateLimiter;
  /** Uniform random 32-bit words (crypto in production; seeded in tests). */
  randomWord: () => number;
  settings: Settings;
  /** Tickets (booked seats), their check-ins, and the codes that sign them. */
  tickets: TicketStore;
  ticketCodes: TicketCodes;
  /** QR codes and the tickets PDF. */
  documents: TicketDocuments;
  /** Mail to send (filled by the notifications consumer), and the way it is sent. */
  mailQueue: MailQueue;
  mailer: Mailer;
  /** An event's sales (kept by the stats consumer of the fact bus) and attendees. */
  stats: EventStatsStore;
  /** Organizer holds: seats off sale until released. */
  seatBlocks: SeatBlockStore;
}
