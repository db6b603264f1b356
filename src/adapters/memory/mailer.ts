// Mail kept in this process (DATA_DIR=memory://, an embedded run that keeps nothing on
// disk; and tests that read what was sent). Sending never fails unless told to.
import type { Mailer, OutgoingMail } from '../../app/ports/notifications.ts';

export class MemoryMailer implements Mailer {
  readonly sent: OutgoingMail[] = [];
  /** When set, send() rejects with this (tests of retries). */
  failWith: Error | null = null;
  private readonly mailMax = 1_000;

  async send(mail: OutgoingMail): Promise<void> {
    if (this.failWith) throw this.failWith;
    if (this.sent.length >= this.mailMax) this.sent.shift();
    this.sent.push(mail);
  }

  async close(): Promise<void> {}
}
