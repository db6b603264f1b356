// The mails a buyer gets, composed without a mail server: ids stable per fact, subjects,
// amounts in the event's currency, the tickets attached, and names escaped in the HTML.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  bookingConfirmedMail,
  eventCancelledMail,
  eventTimeText,
  moneyText,
  refundMail,
  yourTurnMail,
} from '../../src/app/mail-messages.ts';
import type { BookingTickets } from '../../src/app/ports/notifications.ts';

const factId = '0b6f7d1e-4a51-4c43-9d0e-2f6c7b1a9e10';
const to = 'ada@example.com';
const trickyName = 'Rock & Roll <script>alert("x")</script>';

const booking: BookingTickets = {
  bookingId: 'bkg-42',
  eventName: 'The Marriage of Figaro',
  venueName: 'Royal Opera House',
  venueCity: 'London',
  startsAt: '2027-03-01T19:00:00.000Z',
  totalCents: 18050,
  currency: 'EUR',
  tickets: [
    { ticketId: 't1', seatId: 's1', section: 'Stalls', row: 'C', number: 7, status: 'valid', code: 'c1' },
    { ticketId: 't2', seatId: 's2', section: 'Stalls', row: 'C', number: 8, status: 'valid', code: 'c2' },
  ],
};

describe('mail messages', () => {
  test('when a booking is confirmed, then the mail lists its seats and total and attaches the tickets', () => {
    const pdf = new Uint8Array([0x25, 0x50, 0x44, 0x46]);
    const mail = bookingConfirmedMail({ factId, to, booking, pdf, webUrl: 'https://boxoffice.test/me/bookings' });
    assert.equal(mail.id, `${factId}.booking-confirmed`);
    assert.equal(mail.to, to);
    assert.equal(mail.subject, 'Your tickets for The Marriage of Figaro');
    assert.match(mail.text, /Mon 1 Mar 2027, 19:00 UTC at Royal Opera House, London/);
    assert.match(mail.text, /Section Stalls, row C, seat 7\n- Section Stalls, row C, seat 8/);
    assert.match(mail.text, /Total paid: €180\.50/);
    assert.match(mail.text, /https:\/\/boxoffice\.test\/me\/bookings/);
    assert.match(mail.html!, /<a href="https:\/\/boxoffice\.test\/me\/bookings">/);
    assert.deepEqual(mail.attachments, [
      { filename: 'tickets-bkg-42.pdf', contentType: 'application/pdf', content: pdf },
    ]);
  });

  test('when the same fact is composed again, then the mail is the same, id included', () => {
    const pdf = new Uint8Array([1]);
    assert.deepEqual(
      bookingConfirmedMail({ factId, to, booking, pdf }),
      bookingConfirmedMail({ factId, to, booking, pdf }),
    );
  });

  test('when a name holds markup, then the HTML shows it as text and the plain text keeps it', () => {
    const mail = bookingConfirmedMail({
      factId,
      to,
      booking: { ...booking, eventName: trickyName },
      pdf: new Uint8Array(),
      webUrl: 'https://boxoffice.test/?a=1&b="2"',
    });
    assert.doesNotMatch(mail.html!, /<script>/);
    assert.match(mail.html!, /Rock &#38; Roll &#60;script&#62;alert\(&#34;x&#34;\)&#60;\/script&#62;/);
    assert.match(mail.html!, /href="https:\/\/boxoffice\.test\/\?a=1&#38;b=&#34;2&#34;"/);
    assert.match(mail.text, /Rock & Roll <script>/);
    for (const other of [
      refundMail({
        factId,
        to,
        eventName: trickyName,
        amountCents: 1,
        currency: 'EUR',
        seatsDescription: '<b>',
        status: 'failed',
      }),
      eventCancelledMail({
        factId,
        to,
        eventName: trickyName,
        startsAt: booking.startsAt,
        refundCents: 1,
        currency: 'EUR',
      }),
      yourTurnMail({
        factId,
        to,
        eventName: trickyName,
        admissionWindowSeconds: 600,
        url: 'https://x.test/"><script>',
      }),
    ]) {
      assert.doesNotMatch(other.html!, /<script>|<b>/, other.id);
    }
  });

  test('when a name spans lines or is very long, then the subject is one line of bounded length', () => {
    const mail = yourTurnMail({
      factId,
      to,
      eventName: `Gala\r\nBcc: x@evil.test ${'y'.repeat(500)}`,
      admissionWindowSeconds: 60,
    });
    assert.doesNotMatch(mail.subject, /[\r\n]/);
    assert.ok(mail.subject.length < 160, mail.subject);
    assert.match(mail.subject, /…$/);
  });

  test('when a refund succeeds or fails, then the mail says which, with the amount and seats', () => {
    const base = {
      factId,
      to,
      eventName: 'Figaro',
      amountCents: 9025,
      currency: 'USD',
      seatsDescription: '2 seats in Stalls',
    };
    const succeeded = refundMail({ ...base, status: 'succeeded' });
    assert.equal(succeeded.id, `${factId}.refund`);
    assert.equal(succeeded.subject, 'Your refund for Figaro');
    assert.match(succeeded.text, /We refunded \$90\.25 for 2 seats in Stalls at Figaro\./);
    const failed = refundMail({ ...base, status: 'failed' });
    assert.equal(failed.subject, 'Your refund for Figaro did not go through');
    assert.match(failed.text, /We could not refund \$90\.25 for 2 seats in Stalls/);
  });

  test('when an event is cancelled, then the mail gives its time and the refund, if any', () => {
    const base = { factId, to, eventName: 'Figaro', startsAt: '2027-12-31T23:30:00Z', currency: 'GBP' };
    const refunded = eventCancelledMail({ ...base, refundCents: 4500 });
    assert.equal(refunded.id, `${factId}.event-cancelled`);
    assert.equal(refunded.subject, 'Figaro is cancelled');
    assert.match(refunded.text, /Figaro on Fri 31 Dec 2027, 23:30 UTC is cancelled/);
    assert.match(refunded.text, /refunding £45\.00/);
    assert.doesNotMatch(eventCancelledMail({ ...base, refundCents: 0 }).text, /refunding/);
  });

  test("when it is a buyer's turn, then the mail gives the admission window and the link", () => {
    const mail = yourTurnMail({
      factId,
      to,
      eventName: 'Figaro',
      admissionWindowSeconds: 600,
      url: 'https://x.test/q',
    });
    assert.equal(mail.id, `${factId}.your-turn`);
    assert.equal(mail.subject, "It's your turn: Figaro");
    assert.match(mail.text, /You have 10 minutes/);
    assert.match(mail.text, /Choose your seats: https:\/\/x\.test\/q/);
    assert.match(yourTurnMail({ factId, to, eventName: 'F', admissionWindowSeconds: 90 }).text, /You have 90 seconds/);
    assert.match(yourTurnMail({ factId, to, eventName: 'F', admissionWindowSeconds: 60 }).text, /You have 1 minute to/);
  });

  test('when amounts and times are printed, then minor units follow the currency and times are UTC', () => {
    assert.equal(moneyText(123456, 'EUR'), '€1,234.56');
    assert.equal(moneyText(1500, 'JPY'), '¥1,500');
    assert.equal(eventTimeText('2027-03-01T19:00:00+01:00'), 'Mon 1 Mar 2027, 18:00 UTC');
    assert.throws(() => eventTimeText('not a time'));
  });
});
