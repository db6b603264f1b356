// The mailer against a real SMTP server (smtp-server on 127.0.0.1) and on disk: what the
// buyer's mail client receives parses (mailparser), carries the tickets PDF that pdf-lib
// reads back page for page, and has the Message-ID built from the mail's id.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { PDFDocument } from 'pdf-lib';
import { PdfTicketDocuments } from '../../src/adapters/documents/ticket-documents.ts';
import { createMailer } from '../../src/adapters/mail/mailers.ts';
import { bookingConfirmedMail } from '../../src/app/mail-messages.ts';
import type { BookingTickets, OutgoingMail } from '../../src/app/ports/notifications.ts';
import { type SmtpSink, startSmtpSink } from '../support/smtp-sink.ts';

const from = 'Boxoffice <tickets@boxoffice.test>';
const factId = '5d1c2a0e-8f3b-4b6e-a1c9-7e2d4f6a8b0c';

const booking: BookingTickets = {
  bookingId: 'bkg-7',
  eventName: 'Figaro',
  venueName: 'Royal Opera House',
  venueCity: 'London',
  startsAt: '2027-03-01T19:00:00.000Z',
  totalCents: 27000,
  currency: 'GBP',
  tickets: [1, 2, 3].map((number) => ({
    ticketId: `tkt-${number}`,
    seatId: `seat-${number}`,
    section: 'Stalls',
    row: 'C',
    number,
    status: 'valid' as const,
    code: `BX1.tkt-${number}.signature`,
  })),
};

async function confirmationMail(): Promise<OutgoingMail> {
  const pdf = await new PdfTicketDocuments().ticketsPdf(booking);
  return bookingConfirmedMail({ factId, to: 'ada@example.com', booking, pdf });
}

async function assertConfirmation(parsed: ParsedMail): Promise<void> {
  assert.equal((parsed.to as AddressObject).value[0]?.address, 'ada@example.com');
  assert.equal(parsed.from?.value[0]?.address, 'tickets@boxoffice.test');
  assert.equal(parsed.subject, 'Your tickets for Figaro');
  assert.equal(parsed.messageId, `<${factId}.booking-confirmed@boxoffice>`);
  assert.match(parsed.text ?? '', /Section Stalls, row C, seat 3/);
  assert.equal(parsed.attachments.length, 1);
  const [attachment] = parsed.attachments;
  assert.equal(attachment?.filename, 'tickets-bkg-7.pdf');
  assert.equal(attachment?.contentType, 'application/pdf');
  const pdf = await PDFDocument.load(attachment!.content);
  assert.equal(pdf.getPageCount(), 3);
}

describe('mail over SMTP', () => {
  let smtp: SmtpSink;

  before(async () => {
    smtp = await startSmtpSink();
  });

  after(() => smtp?.close());

  test('when a booking confirmation is sent, then one message arrives with its tickets PDF and Message-ID', async () => {
    const mailer = createMailer({ smtpUrl: smtp.url, dataDir: '/nonexistent', from });
    try {
      await mailer.send(await confirmationMail());
    } finally {
      await mailer.close();
    }
    assert.equal(smtp.received.length, 1);
    await assertConfirmation(await simpleParser(smtp.received[0]!));
  });
});

describe('mail as .eml files', () => {
  let dataDir: string;

  before(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'boxoffice-mail-'));
  });

  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  test('when no SMTP server is configured, then each mail is one parseable file, the same when sent again', async () => {
    const mailer = createMailer({ dataDir, from });
    const mail = await confirmationMail();
    try {
      await mailer.send(mail);
      await mailer.send(mail);
    } finally {
      await mailer.close();
    }
    const directory = path.join(dataDir, 'mail');
    assert.deepEqual(await readdir(directory), [`${factId}.booking-confirmed.eml`]);
    await assertConfirmation(
      await simpleParser(await readFile(path.join(directory, `${factId}.booking-confirmed.eml`))),
    );
  });

  test('when a mail id holds characters a file name or Message-ID may not, then they are escaped', async () => {
    const mailer = createMailer({ dataDir, from });
    try {
      await mailer.send({ id: '../x y@z.', to: 'ada@example.com', subject: 'Hi', text: 'Hi\n' });
    } finally {
      await mailer.close();
    }
    const file = path.join(dataDir, 'mail', '=2E.=2Fx=20y=40z=2E.eml');
    const parsed = await simpleParser(await readFile(file));
    assert.equal(parsed.messageId, '<=2E.=2Fx=20y=40z=2E@boxoffice>');
  });
});
