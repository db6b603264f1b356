// The virtual waiting room in front of a sale. Times are epoch milliseconds.

/** Where a buyer stands in an event's waiting room. */
export type QueueState =
  | { kind: 'waiting'; ahead: number }
  | { kind: 'admitted'; expiresAtMs: number }
  /** The admission was not used in time: joining again goes to the back of the line. */
  | { kind: 'expired'; expiredAtMs: number }
  | { kind: 'absent' };

/** An admitted buyer to tell "it is your turn": they left their address when they joined. */
export interface AdmissionNotice {
  userId: string;
  email: string;
  /** When the admission ends (it names the admission: one notice each). */
  expiresAtMs: number;
}

export interface AdmissionLimits {
  nowMs: number;
  ratePerMs: number;
  burst: number;
  maxActiveShoppers: number | null;
  admissionWindowMs: number;
  batchMax: number;
}

/** The queue in front of a sale: Redis (sorted set, shared by every process), or in-process. */
export interface WaitingRoom {
  /**
   * Joins the line, or answers where the user already stands (one place per user). queueKey
   * orders the line: a random key in [0, 1) before the sale opens, null after (the next
   * arrival number, given out by the room). email: where to say "your turn" (kept until then).
   */
  join(
    eventId: string,
    userId: string,
    queueKey: number | null,
    nowMs: number,
    email?: string | null,
  ): Promise<QueueState>;
  states(eventId: string, userIds: string[], nowMs: number): Promise<QueueState[]>;
  /**
   * The one logical admitter: atomically refills the event's meter and moves that many people
   * from the head of the line to the admitted. Any process may call it at any time. Each
   * admitted buyer who left an address gets a notice, in the same atomic step.
   */
  admit(eventId: string, limits: AdmissionLimits): Promise<number>;
  /** Notices not yet handed on (oldest first, up to limit). */
  notices(eventId: string, limit: number): Promise<AdmissionNotice[]>;
  /** These notices were handed on (to the mail queue): forget them. */
  dropNotices(eventId: string, notices: AdmissionNotice[]): Promise<void>;
  /** The shopper is done (booked): their place under the cap is free for the next one. */
  finish(eventId: string, userId: string): Promise<void>;
  /** Events whose rooms someone joined (the admitter ticks these). */
  rooms(): Promise<string[]>;
  /** Keeps the room's data until untilMs and not much longer (Redis: the keys expire then). */
  retainUntil(eventId: string, untilMs: number): Promise<void>;
  /** Stops ticking an event's room (it ended, or its waiting room is off). */
  closeRoom(eventId: string): Promise<void>;
  waitingCount(eventId: string): Promise<number>;
  /** Shoppers admitted and not yet expired or finished (the organizer's live view). */
  admittedCount(eventId: string, nowMs: number): Promise<number>;
  close(): Promise<void>;
}
