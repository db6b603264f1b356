// Idempotency keys: one answer per (user, key), kept and replayed verbatim. Times are
// epoch milliseconds.

/** What a confirmation answered, kept under its idempotency key and replayed verbatim. */
export type StoredResponse =
  | { kind: 'booking'; body: Record<string, unknown> }
  /** 202: the payment is pending at the provider; a replay answers with its state then. */
  | { kind: 'pending'; body: Record<string, unknown>; reservationId: string; attempt: number }
  | { kind: 'error'; code: string; detail: string; extensions: Record<string, unknown> };

export interface IdempotencyKeyRef {
  userId: string;
  key: string;
}

/** A claim on a key: only its holder may record a charge, complete or abandon the key. */
export interface IdempotencyLease extends IdempotencyKeyRef {
  lease: string;
}

/**
 * PostgreSQL (or PGlite). Keys are claimed by BookingStore.beginConfirmation (with the
 * hold, in one call); only the holder of a key's current lease may change it.
 */
export interface IdempotencyStore {
  /** Stores the final answer; false when the lease was lost to a takeover. */
  completeIdempotencyKey(lease: IdempotencyLease, response: StoredResponse): Promise<boolean>;
  /** After an unexpected error: a retry with the same request may take the key over at once. */
  abandonIdempotencyKey(lease: IdempotencyLease): Promise<void>;
  /** Forgets completed keys created before the given instant; returns how many. */
  purgeIdempotencyKeys(createdBeforeMs: number, batchSize: number): Promise<number>;
}
