// Mail to send: queued by the notifications consumer (one row per fact and kind of mail,
// so a fact delivered twice queues it once), sent and retried by the mail sender.

export type MailKind = 'booking_confirmed' | 'refund' | 'event_cancelled' | 'your_turn';

export interface MailJob {
  /** `${factId}.${kind}`: the queue's key and the Message-ID's. */
  id: string;
  factId: string;
  kind: MailKind;
  to: string;
  /** What the mail is about (ids and amounts); the rest is read when it is sent. */
  payload: Record<string, unknown>;
}

export interface QueuedMail extends MailJob {
  attempts: number;
}

export interface MailQueue {
  /** Queues mails not tied to a fact of the outbox (the waiting room's "your turn"), once per id. */
  enqueue(jobs: MailJob[]): Promise<void>;
  /** Due mails (new, or failed and due again), each leased for leaseMs to this sender. */
  claimDue(nowMs: number, leaseMs: number, limit: number): Promise<QueuedMail[]>;
  markSent(id: string, nowMs: number): Promise<void>;
  markFailed(id: string, error: string, nextAttemptAtMs: number): Promise<void>;
  /** Mails that failed and wait for their next try (a gauge). */
  failingCount(): Promise<number>;
}
