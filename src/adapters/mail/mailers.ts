// Mail out: over SMTP (nodemailer) when SMTP_URL is set, otherwise as .eml files under
// DATA_DIR/mail, so a demo or a test without a mail server still shows what was sent.
// Either way the Message-ID comes from the mail's id: a mail sent again after a crash is
// the same message to the receiver (and, on disk, the same file).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import nodemailer from 'nodemailer';
import type { Mailer, OutgoingMail } from '../../app/ports/notifications.ts';

/** Mail ids are ours (fact id and kind): a longer one is a programmer error. */
const mailIdLengthMax = 200;

export interface MailerOptions {
  /** smtp://user:pass@host:port or smtps://…; without it, mail is written to files. */
  smtpUrl?: string;
  dataDir: string;
  /** The From address, e.g. "Boxoffice <tickets@example.com>". */
  from: string;
}

export function createMailer(options: MailerOptions): Mailer {
  return options.smtpUrl
    ? new SmtpMailer(options.smtpUrl, options.from)
    : new EmlFileMailer(path.join(options.dataDir, 'mail'), options.from);
}

class SmtpMailer implements Mailer {
  // Pooled: a burst of confirmations after a sale reuses a few connections instead of a
  // handshake per mail. Explicit timeouts: a silent server fails a send in seconds, and the
  // caller retries, rather than holding it for nodemailer's default of minutes.
  private readonly transport;

  constructor(
    smtpUrl: string,
    private readonly from: string,
  ) {
    this.transport = nodemailer.createTransport({
      url: smtpUrl,
      pool: true,
      maxConnections: 5,
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      socketTimeout: 30_000,
    });
  }

  async send(mail: OutgoingMail): Promise<void> {
    await this.transport.sendMail(messageOf(mail, this.from));
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

class EmlFileMailer implements Mailer {
  // buffer: the whole RFC 822 message as one Buffer, written as one file.
  private readonly transport = nodemailer.createTransport({ streamTransport: true, buffer: true });

  constructor(
    private readonly directory: string,
    private readonly from: string,
  ) {}

  async send(mail: OutgoingMail): Promise<void> {
    const info = await this.transport.sendMail(messageOf(mail, this.from));
    assert.ok(Buffer.isBuffer(info.message), 'streamTransport with buffer: true gives a Buffer');
    await mkdir(this.directory, { recursive: true });
    // Written aside, flushed, then renamed into place: a reader never sees half a message,
    // and a crash leaves either the whole file or none (a stray .tmp at worst).
    const target = path.join(this.directory, `${safeId(mail.id)}.eml`);
    const temporary = path.join(this.directory, `.${safeId(mail.id)}.${randomUUID()}.tmp`);
    try {
      const file = await open(temporary, 'wx');
      try {
        await file.writeFile(info.message);
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  async close(): Promise<void> {
    // A stream transport holds no connection: nothing to close.
  }
}

function messageOf(mail: OutgoingMail, from: string) {
  return {
    from,
    to: mail.to,
    subject: mail.subject,
    text: mail.text,
    html: mail.html,
    messageId: `<${safeId(mail.id)}@boxoffice>`,
    attachments: mail.attachments?.map((attachment) => ({
      filename: attachment.filename,
      contentType: attachment.contentType,
      content: Buffer.from(attachment.content.buffer, attachment.content.byteOffset, attachment.content.byteLength),
    })),
  };
}

/**
 * The id as the left part of a Message-ID (RFC 5322 dot-atom: letters, digits, '_', '-'
 * and single inner dots), also safe as a file name. Any other byte, and a dot that would
 * lead, trail or double, becomes =XX; '=' itself is escaped, so distinct ids stay distinct.
 */
export function safeId(id: string): string {
  assert.ok(id.length > 0 && id.length <= mailIdLengthMax, `a mail id has 1 to ${mailIdLengthMax} characters`);
  const bytes = Buffer.from(id, 'utf8');
  let safe = '';
  bytes.forEach((byte, index) => {
    const char = String.fromCharCode(byte);
    const innerDot = char === '.' && index > 0 && index < bytes.length - 1 && !safe.endsWith('.');
    safe += /[A-Za-z0-9_-]/.test(char) || innerDot ? char : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  });
  return safe;
}
