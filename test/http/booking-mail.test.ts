// The mail that follows the sale, end to end against a real SMTP server the test starts
// (smtp-server on 127.0.0.1): a booking's confirmation arrives once with its tickets PDF
// (which parses, a page per seat), however often the facts are delivered; a refund and an
// event's cancellation are told; a mail the server refuses is retried after its backoff
// and then arrives once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { simpleParser, type AddressObject, type ParsedMail } from 'mailparser';
import { PDFDocument } from 'pdf-lib';
import { ManualClock } from '../../src/adapters/clock/system-clock.ts';
import { yourTurnJob } from '../../src/app/notifications.ts';
import { admitDue } from '../../src/app/waiting-room.ts';
import { auth, createEvent, holdSeats, startTestApp, type TestApp } from '../support/harness.ts';
import { type SmtpSink, startSmtpSink } from '../support/smtp-sink.ts';
import { sweepOnce } from '../support/sweep.ts';

const startMs = Date.parse('2027-01-10T15:00:00Z');
const retryBaseMs = 5_000;

describe('mail after the sale, over SMTP', () => {
  let received: ParsedMail[] = [];
  let smtp: SmtpSink;
  let t: TestApp;
  let clock: ManualClock;

  before(async () => {
    smtp = await startSmtpSink();
    clock = new ManualClock(startMs);
    t = await startTestApp({ clock, env: { SMTP_URL: smtp.url, MAIL_RETRY_BASE_MS: String(retryBaseMs) } });
  });
  after(async () => {
    await t?.close();
    await smtp?.close();
  });

  /** Drains the facts and mail, then parses what the SMTP server has received. */
  const deliver = async () => {
    await t.runtime.facts.drain();
    received = await Promise.all(smtp.received.map((raw) => simpleParser(raw)));
  };

  const mailsTo = (address: string) =>
    received.filter((mail) => (mail.to as AddressObject).value.some((to) => to.address === address));

  async function buy(eventId: string, user: string, seatIds: string[]) {
    const reservationId = await holdSeats(t, eventId, user, seatIds);
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/reservations/${reservationId}/confirm`,
      headers: {
        ...auth(await t.token(user, 'customer', { email: `${user}@example.com` })),
        'idempotency-key': `buy-${reservationId}`,
      },
      payload: { payment_method: 'pm_card_visa' },
    });
    assert.equal(response.statusCode, 201, response.body);
    return response.json().booking_id as string;
  }

  test('when a booking is made, then its confirmation arrives once with the tickets PDF', async () => {
    const eventId = await createEvent(t, {}, clock.nowMs());
    await buy(eventId, 'ada', ['s0', 's1', 's2']);
    await deliver();
    await deliver();
    const mails = mailsTo('ada@example.com');
    assert.equal(mails.length, 1);
    assert.equal(mails[0]!.subject, 'Your tickets for Test Concert');
    const [pdf] = mails[0]!.attachments;
    assert.equal(pdf?.contentType, 'application/pdf');
    assert.equal((await PDFDocument.load(pdf!.content)).getPageCount(), 3);
    assert.match(mails[0]!.messageId ?? '', /@boxoffice>$/);
  });

  test('when a buyer without an address books, then nothing is sent and nothing waits', async () => {
    const eventId = await createEvent(t, {}, clock.nowMs());
    const before = received.length;
    const reservationId = await holdSeats(t, eventId, 'no-mail', ['s3']);
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/reservations/${reservationId}/confirm`,
      headers: { ...auth(await t.token('no-mail')), 'idempotency-key': 'k-no-mail' },
      payload: { payment_method: 'pm_card_visa' },
    });
    assert.equal(response.statusCode, 201);
    await deliver();
    assert.equal(received.length, before);
  });

  test('when the mail server refuses, then the mail is retried after its backoff and arrives once', async () => {
    const eventId = await createEvent(t, {}, clock.nowMs());
    smtp.refuseNext(1);
    await buy(eventId, 'bea', ['s4']);
    await deliver();
    assert.equal(mailsTo('bea@example.com').length, 0);
    const { rows } = await t.runtime.db.query<{ status: string; attempts: number; last_error: string }>(
      `SELECT status, attempts, last_error FROM mails WHERE to_address = 'bea@example.com'`,
    );
    assert.equal(rows[0]!.status, 'failed');
    assert.match(rows[0]!.last_error, /451|busy/);
    clock.advance(retryBaseMs - 1);
    await deliver();
    assert.equal(mailsTo('bea@example.com').length, 0, 'not before its backoff');
    clock.advance(1);
    await deliver();
    assert.equal(mailsTo('bea@example.com').length, 1);
    await deliver();
    assert.equal(mailsTo('bea@example.com').length, 1);
  });

  test('when seats are refunded or the event is cancelled, then the buyer is told', async () => {
    const eventId = await createEvent(t, {}, clock.nowMs());
    const bookingId = await buy(eventId, 'cyd', ['s5', 's6']);
    const organizer = await t.token('organizer-1', 'organizer');
    const refund = await t.app.inject({
      method: 'POST',
      url: `/v1/bookings/${bookingId}/refund`,
      headers: auth(organizer),
      payload: { seat_ids: ['s5'], reason: 'seat broken' },
    });
    assert.equal(refund.statusCode, 200, refund.body);
    await deliver();
    const refunds = mailsTo('cyd@example.com').filter((mail) => /refund/i.test(mail.subject ?? ''));
    assert.equal(
      refunds.length,
      1,
      mailsTo('cyd@example.com')
        .map((mail) => mail.subject)
        .join(' | '),
    );
    assert.match(refunds[0]!.text ?? '', /100\.00/);
    const cancel = await t.app.inject({
      method: 'PATCH',
      url: `/v1/events/${eventId}`,
      headers: auth(organizer),
      payload: { status: 'cancelled' },
    });
    assert.equal(cancel.statusCode, 200, cancel.body);
    await sweepOnce(t);
    await deliver();
    const cancelled = mailsTo('cyd@example.com').filter((mail) => /cancel/i.test(mail.subject ?? ''));
    assert.equal(
      cancelled.length,
      1,
      mailsTo('cyd@example.com')
        .map((mail) => mail.subject)
        .join(' | '),
    );
  });

  test('when a buyer who left an address is admitted from the waiting room, then "it is your turn" arrives once with the link', async () => {
    const eventId = await createEvent(
      t,
      { waiting_room: { enabled: true, admit_per_minute: 60, admission_window_seconds: 600 } },
      clock.nowMs(),
    );
    const join = async (user: string, email?: string) => {
      const token = await t.token(user, 'customer', email ? { email } : {});
      const response = await t.app.inject({ method: 'POST', url: `/v1/events/${eventId}/queue`, headers: auth(token) });
      assert.equal(response.statusCode, 200, response.body);
    };
    await join('wendy', 'wendy@example.com');
    await join('quiet'); // no address: nothing to send
    await join('wendy', 'wendy@example.com'); // joining again keeps the place and one notice
    for (let tick = 0; tick < 3; tick += 1) {
      await admitDue(t.runtime.deps, t.runtime.deps.settings.admitter);
      clock.advance(60_000);
    }
    assert.equal(await t.runtime.deps.waitingRoom.waitingCount(eventId), 0, 'both admitted');
    assert.deepEqual(await t.runtime.deps.waitingRoom.notices(eventId, 10), [], 'every notice handed on');
    await deliver();
    const mails = mailsTo('wendy@example.com').filter((mail) => /your turn/i.test(mail.subject ?? ''));
    assert.equal(mails.length, 1);
    assert.equal(mails[0]!.subject, "It's your turn: Test Concert");
    assert.match(mails[0]!.text ?? '', new RegExp(`/events/${eventId}`));

    // Handed on again (a process died after queueing and before dropping): queued once.
    const me = await t.app.inject({
      method: 'GET',
      url: `/v1/events/${eventId}/queue/me`,
      headers: auth(await t.token('wendy')),
    });
    const expiresAtMs = Date.parse(me.json().admission_expires_at);
    await t.runtime.deps.mailQueue.enqueue([
      yourTurnJob(eventId, { userId: 'wendy', email: 'wendy@example.com', expiresAtMs }),
    ]);
    await deliver();
    assert.equal(mailsTo('wendy@example.com').filter((mail) => /your turn/i.test(mail.subject ?? '')).length, 1);
    const { rows } = await t.runtime.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM mails WHERE kind = 'your_turn' AND to_address = 'wendy@example.com'`,
    );
    assert.equal(rows[0]!.n, 1);
  });
});
