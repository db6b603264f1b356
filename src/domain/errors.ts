// Business errors with a stable code. The HTTP layer maps each code to a status in one
// place (http/plugins/problems.ts); nothing below http knows about status codes.

export const ErrorCodes = [
  'VALIDATION_FAILED',
  'INVALID_SEAT_MAP',
  'UNKNOWN_SEATS',
  'DUPLICATE_SEATS',
  'TOO_MANY_SEATS',
  'USER_SEAT_LIMIT_EXCEEDED',
  'SEAT_UNAVAILABLE',
  'SALE_NOT_OPEN',
  'EVENT_NOT_FOUND',
  'RESERVATION_NOT_FOUND',
  'BOOKING_NOT_FOUND',
  'PAYMENT_DECLINED',
  'RESERVATION_EXPIRED',
  'RESERVATION_CANCELLED',
  'RESERVATION_ALREADY_CONFIRMED',
  'IDEMPOTENCY_KEY_REQUIRED',
  'IDEMPOTENCY_KEY_REUSED',
  'IDEMPOTENCY_KEY_IN_FLIGHT',
  'PAYMENT_IN_PROGRESS',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'TOO_MANY_SUBSCRIBERS',
  'EVENT_CANCELLED',
  'EVENT_STATUS_CONFLICT',
  'SEAT_MAP_LOCKED',
  'VENUE_NOT_FOUND',
  'PERFORMER_NOT_FOUND',
  'ADMISSION_REQUIRED',
  'WAITING_ROOM_OFF',
  'QUEUE_NOT_JOINED',
  'WAITING_ROOM_UNAVAILABLE',
  'CHALLENGE_FAILED',
  'RATE_LIMITED',
  'OVERLOADED',
  'TOO_MANY_STREAMS',
  'SEAT_LIST_TOO_LARGE',
  'REFUND_WINDOW_CLOSED',
  'SEATS_NOT_IN_BOOKING',
  'WEBHOOK_SIGNATURE_INVALID',
  'PAYMENT_NOT_FOUND',
  'CARD_LIMIT_REACHED',
  'PAYMENT_PROVIDER_UNAVAILABLE',
  'CANCELLATION_NOT_FOUND',
  'TICKET_INVALID',
  'TICKET_REVOKED',
  'ALREADY_CHECKED_IN',
  'TICKET_NOT_FOUND',
  'TICKETS_CHECKED_IN',
  'NOT_ENOUGH_SEATS',
  'BLOCK_NOT_FOUND',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

export interface FieldError {
  /** JSON pointer to the offending field, e.g. /seat_map/sections/2/rows/0/seats */
  path: string;
  message: string;
}

export class DomainError extends Error {
  readonly code: ErrorCode;
  /** Extra members for the problem document, e.g. conflicting_seat_ids. */
  readonly extensions: Record<string, unknown>;
  /** When a refused caller may usefully try again (the HTTP layer says it how HTTP says it). */
  readonly retryAfterMs: number | null;

  constructor(
    code: ErrorCode,
    detail: string,
    extensions: Record<string, unknown> = {},
    options: { retryAfterMs?: number } = {},
  ) {
    // An answer, not a fault: no stack trace (capturing one was 4% of a flash-sale 409).
    const stackTraceLimit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(detail);
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'DomainError';
    this.code = code;
    this.extensions = extensions;
    this.retryAfterMs = options.retryAfterMs ?? null;
  }
}
