// Tickets, check-in and the mail that follows a booking: a booking's tickets carry signed
// codes; the door admits each once, refuses forged codes, another event's, a refunded
// seat's and a retired key's; the booking's fact reaches the notifications consumer once
// and its mail (tickets PDF attached) is sent once, however often the fact is delivered.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { PDFDocument } from 'pdf-lib';
import { HmacTicketCodes } from '../../src/adapters/tokens/hmac-ticket-codes.ts';
import type { MemoryMailer } from '../../src/adapters/memory/mailer.ts';
import { purgeOldFacts } from '../../src/adapters/postgres/outbox.ts';
import { auth, confirmReservation, createEvent, holdSeats, startTestApp, type TestApp } from '../support/harness.ts';

const keyNew = { id: 'k2', secret: 'n'.repeat(40) };
const keyOld = { id: 'k1', secret: 'o'.repeat(40) };
const keyRetired = { id: 'k0', secret: 'r'.repeat(40) };

describe('tickets and check-in', () => {
  let t: TestApp;
  let mailer: MemoryMailer;

  before(async () => {
    t = await startTestApp({
      env: { TICKET_SIGNING_KEYS: `${keyNew.id}:${keyNew.secret},${keyOld.id}:${keyOld.secret}` },
    });
    mailer = t.runtime.deps.mailer as MemoryMailer;
  });
  after(() => t?.close());

  const buyer = (user: string) => t.token(user, 'customer', { email: `${user}@example.com` });
  const organizer = () => t.token('organizer-1', 'organizer');

  async function buy(eventId: string, user: string, seatIds: string[]) {
    const reservationId = await holdSeats(t, eventId, user, seatIds);
    const response = await t.app.inject({
      method: 'POST',
      url: `/v1/reservations/${reservationId}/confirm`,
      headers: { ...auth(await buyer(user)), 'idempotency-key': `buy-${reservationId}` },
      payload: { payment_method: 'pm_card_visa' },
    });
    assert.equal(response.statusCode, 201, response.body);
    return response.json().booking_id as string;
  }

  async function ticketsOf(user: string, bookingId: string) {
    const response = await t.app.inject({
      method: 'GET',
      url: `/v1/bookings/${bookingId}/tickets`,
      headers: auth(await buyer(user)),
    });
    assert.equal(response.statusCode, 200, response.body);
    return response.json() as {
      tickets: { ticket_id: string; seat_id: string; status: string; code: string; section: string }[];
    };
  }

  async function scan(eventId: string, code: string, token?: string) {
    return t.app.inject({
      method: 'POST',
      url: `/v1/events/${eventId}/checkins`,
      headers: auth(token ?? (await organizer())),
      payload: { code },
    });
  }

  test('when a booking is made, then each seat has a valid ticket, its QR and a PDF of them', async () => {
    const eventId = await createEvent(t);
    const bookingId = await buy(eventId, 'ann', ['s0', 's1']);
    const { tickets } = await ticketsOf('ann', bookingId);
    assert.deepEqual(
      tickets.map((ticket) => [ticket.seat_id, ticket.status]),
      [
        ['s0', 'valid'],
        ['s1', 'valid'],
      ],
    );
    assert.match(tickets[0]!.code, /^BX1\.k2\./);
    const qr = await t.app.inject({
      method: 'GET',
      url: `/v1/tickets/${tickets[0]!.ticket_id}/qr.svg`,
      headers: auth(await buyer('ann')),
    });
    assert.equal(qr.statusCode, 200);
    assert.match(qr.headers['content-type'] as string, /image\/svg\+xml/);
    assert.match(qr.body, /<svg/);
    const pdf = await t.app.inject({
      method: 'GET',
      url: `/v1/bookings/${bookingId}/tickets.pdf`,
      headers: auth(await buyer('ann')),
    });
    assert.equal(pdf.statusCode, 200);
    assert.equal(pdf.headers['content-type'], 'application/pdf');
    assert.equal((await PDFDocument.load(pdf.rawPayload)).getPageCount(), 2);
    // Someone else's booking and ticket are not found.
    for (const url of [
      `/v1/bookings/${bookingId}/tickets`,
      `/v1/bookings/${bookingId}/tickets.pdf`,
      `/v1/tickets/${tickets[0]!.ticket_id}/qr.svg`,
    ]) {
      const other = await t.app.inject({ method: 'GET', url, headers: auth(await buyer('bob')) });
      assert.equal(other.statusCode, 404, url);
      assert.match(other.headers['content-type'] as string, /problem\+json/);
    }
    const bogus = await t.app.inject({
      method: 'GET',
      url: '/v1/tickets/tk_nope/qr.svg',
      headers: auth(await buyer('ann')),
    });
    assert.equal(bogus.statusCode, 404);
  });

  test('when a ticket is scanned twice, then it is admitted once and the second scan says when', async () => {
    const eventId = await createEvent(t);
    const bookingId = await buy(eventId, 'cat', ['s2']);
    const [ticket] = (await ticketsOf('cat', bookingId)).tickets;
    const first = await scan(eventId, ticket!.code);
    assert.equal(first.statusCode, 200, first.body);
    assert.equal(first.json().result, 'admitted');
    assert.equal(first.json().ticket.seat_id, 's2');
    const second = await scan(eventId, ticket!.code);
    assert.equal(second.statusCode, 409);
    assert.equal(second.json().code, 'ALREADY_CHECKED_IN');
    assert.equal(second.json().checked_in_at, first.json().ticket.checked_in_at);
    assert.equal((await ticketsOf('cat', bookingId)).tickets[0]!.status, 'checked_in');
  });

  test('when many scanners race one ticket, then exactly one admits it', async () => {
    const eventId = await createEvent(t);
    const bookingId = await buy(eventId, 'dan', ['s3']);
    const [ticket] = (await ticketsOf('dan', bookingId)).tickets;
    const token = await organizer();
    const answers = await Promise.all(Array.from({ length: 12 }, () => scan(eventId, ticket!.code, token)));
    assert.deepEqual(answers.map((answer) => answer.statusCode).sort(), [200, ...Array(11).fill(409)]);
  });

  test('when a code is forged, damaged, for another event or signed with a retired key, then it is refused', async () => {
    const eventId = await createEvent(t);
    const otherEventId = await createEvent(t);
    const bookingId = await buy(eventId, 'eve', ['s4']);
    const otherBookingId = await buy(otherEventId, 'eve', ['s4']);
    const [ticket] = (await ticketsOf('eve', bookingId)).tickets;
    const [otherTicket] = (await ticketsOf('eve', otherBookingId)).tickets;
    const mac = ticket!.code.slice(-22);
    const flipped = ticket!.code.slice(0, -22) + (mac[0] === 'A' ? 'B' : 'A') + mac.slice(1);
    const forgedWithRetiredKey = new HmacTicketCodes([keyRetired]).sign({ bookingId, eventId, seatNo: 4 });
    const wrongKeyId = ticket!.code.replace('BX1.k2.', 'BX1.k9.');
    for (const [label, code] of [
      ['flipped MAC', flipped],
      ['retired key', forgedWithRetiredKey],
      ['unknown key id', wrongKeyId],
      ['another event', otherTicket!.code],
      ['not a code', 'hello'],
    ] as const) {
      const answer = await scan(eventId, code);
      assert.equal(answer.statusCode, 400, `${label}: ${answer.body}`);
      assert.equal(answer.json().code, 'TICKET_INVALID', label);
    }
    // Nothing was admitted by them.
    assert.equal((await ticketsOf('eve', bookingId)).tickets[0]!.status, 'valid');
    // A key that is still listed (the older one) verifies.
    const signedWithOldKey = new HmacTicketCodes([keyOld]).sign({ bookingId, eventId, seatNo: 4 });
    const admitted = await scan(eventId, signedWithOldKey);
    assert.equal(admitted.statusCode, 200, admitted.body);
  });

  test('when a seat is refunded, then its ticket is revoked and refused at the door', async () => {
    const eventId = await createEvent(t);
    const bookingId = await buy(eventId, 'fay', ['s5', 's6']);
    const refund = await t.app.inject({
      method: 'POST',
      url: `/v1/bookings/${bookingId}/refund`,
      headers: auth(await organizer()),
      payload: { seat_ids: ['s5'], reason: 'seat broken' },
    });
    assert.equal(refund.statusCode, 200, refund.body);
    const { tickets } = await ticketsOf('fay', bookingId);
    assert.deepEqual(
      tickets.map((ticket) => [ticket.seat_id, ticket.status]),
      [
        ['s5', 'revoked'],
        ['s6', 'valid'],
      ],
    );
    const revoked = await scan(eventId, tickets[0]!.code);
    assert.equal(revoked.statusCode, 410);
    assert.equal(revoked.json().code, 'TICKET_REVOKED');
    assert.equal((await scan(eventId, tickets[1]!.code)).statusCode, 200);
  });

  test('when staff scan, then only the events their token lists are theirs; buyers may not scan', async () => {
    const eventId = await createEvent(t);
    const otherEventId = await createEvent(t);
    const bookingId = await buy(eventId, 'gus', ['s7']);
    const [ticket] = (await ticketsOf('gus', bookingId)).tickets;
    const buyerScan = await scan(eventId, ticket!.code, await buyer('gus'));
    assert.equal(buyerScan.statusCode, 403);
    const otherStaff = await scan(eventId, ticket!.code, await t.token('door-2', 'staff', { events: [otherEventId] }));
    assert.equal(otherStaff.statusCode, 404);
    const otherOrganizer = await scan(eventId, ticket!.code, await t.token('organizer-2', 'organizer'));
    assert.equal(otherOrganizer.statusCode, 404);
    const staff = await scan(eventId, ticket!.code, await t.token('door-1', 'staff', { events: [eventId] }));
    assert.equal(staff.statusCode, 200, staff.body);
    const bad = await t.app.inject({
      method: 'POST',
      url: `/v1/events/${eventId}/checkins`,
      headers: auth(await organizer()),
      payload: { code: 42 },
    });
    assert.equal(bad.statusCode, 400);
  });

  test('when facts are delivered again, then each mail is queued and sent once, with the tickets attached', async () => {
    const eventId = await createEvent(t);
    const before = mailer.sent.length;
    const bookingId = await buy(eventId, 'hal', ['s8', 's9']);
    await t.runtime.facts.drain();
    const mails = mailer.sent.slice(before).filter((mail) => mail.to === 'hal@example.com');
    assert.equal(mails.length, 1);
    assert.match(mails[0]!.subject, /Test Concert/);
    const pdf = mails[0]!.attachments?.find((attachment) => attachment.contentType === 'application/pdf');
    assert.ok(pdf, 'the tickets PDF is attached');
    assert.equal((await PDFDocument.load(pdf.content)).getPageCount(), 2);
    const { rows } = await t.runtime.db.query<{ seq: number }>(
      'SELECT published_seq AS seq FROM outbox WHERE published_seq IS NOT NULL ORDER BY published_seq',
    );
    assert.deepEqual(
      rows.map((row) => Number(row.seq)),
      rows.map((_, index) => index + 1),
      'published_seq is gap-free',
    );
    // The relay publishes them again (as after a crash before its commit): nothing is sent twice.
    await t.runtime.db.query(
      `UPDATE outbox SET published_seq = NULL, published_at = NULL WHERE payload ->> 'booking_id' = $1`,
      [bookingId],
    );
    await t.runtime.facts.drain();
    assert.equal(mailer.sent.filter((mail) => mail.to === 'hal@example.com').length, 1);
  });

  test('when a change rolls back, then its fact was never written', async () => {
    const eventId = await createEvent(t);
    const bookingId = await buy(eventId, 'ivy', ['s10']);
    const count = async () =>
      Number((await t.runtime.db.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox')).rows[0]!.n);
    const before = await count();
    await assert.rejects(
      t.runtime.db.transaction(async (tx) => {
        await tx.query(`SELECT * FROM cancel_booking($1, NULL, 'organizer', 0, now(), gen_random_uuid(), 'x')`, [
          bookingId,
        ]);
        assert.equal(
          Number((await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM outbox')).rows[0]!.n),
          before + 1,
        );
        throw new Error('rolled back');
      }),
      /rolled back/,
    );
    assert.equal(await count(), before);
    // A declined payment books nothing and writes no booking fact.
    const reservationId = await holdSeats(t, eventId, 'ivy', ['s11']);
    const declined = await confirmReservation(t, 'ivy', reservationId, 'declined-1', 'pm_card_chargeDeclined');
    assert.equal(declined.statusCode, 402);
    assert.equal(await count(), before);
  });

  test('when a ticket was used at the door, then its buyer cannot cancel it; the organizer still may refund it', async () => {
    const eventId = await createEvent(t, { refund_policy: { buyer_cancel_until_hours: 1, fee_percent: 0 } });
    const bookingId = await buy(eventId, 'jon', ['s12', 's13']);
    const { tickets } = await ticketsOf('jon', bookingId);
    assert.equal((await scan(eventId, tickets[0]!.code)).statusCode, 200);
    const cancel = await t.app.inject({
      method: 'POST',
      url: `/v1/bookings/${bookingId}/cancel`,
      headers: auth(await buyer('jon')),
      payload: {},
    });
    assert.equal(cancel.statusCode, 409, cancel.body);
    assert.equal(cancel.json().code, 'TICKETS_CHECKED_IN');
    assert.deepEqual(
      (await ticketsOf('jon', bookingId)).tickets.map((ticket) => ticket.status),
      ['checked_in', 'valid'],
      'nothing changed',
    );
    const partial = await t.app.inject({
      method: 'POST',
      url: `/v1/bookings/${bookingId}/cancel`,
      headers: auth(await buyer('jon')),
      payload: { seat_ids: ['s13'] },
    });
    assert.equal(partial.statusCode, 200, partial.body);
    const refund = await t.app.inject({
      method: 'POST',
      url: `/v1/bookings/${bookingId}/refund`,
      headers: auth(await organizer()),
      payload: { seat_ids: ['s12'], reason: 'show cut short' },
    });
    assert.equal(refund.statusCode, 200, refund.body);
  });

  test('when facts flow, then /metrics shows the relay and the consumer', async () => {
    await t.runtime.facts.drain();
    await t.runtime.facts.refreshFigures();
    const metrics = (await t.app.inject({ method: 'GET', url: '/metrics' })).body;
    for (const name of [
      'outbox_unpublished_facts 0',
      'outbox_oldest_unpublished_seconds 0',
      'bus_notifications_lag_facts 0',
      'outbox_published_total',
      'bus_notifications_applied_total',
    ]) {
      assert.ok(metrics.includes(name), `${name} in /metrics`);
    }
  });

  test('when published facts are older than the retention, then they, their records and sent mail are forgotten', async () => {
    const eventId = await createEvent(t);
    await buy(eventId, 'kim', ['s14']);
    await t.runtime.facts.drain();
    await buy(eventId, 'lee', ['s15']); // not yet relayed: kept whatever its age
    const count = async (sql: string) => (await t.runtime.db.query<{ n: number }>(sql)).rows[0]!.n;
    assert.ok((await count('SELECT count(*)::int AS n FROM outbox WHERE published_seq IS NOT NULL')) > 0);
    await purgeOldFacts(t.runtime.db, Date.now() + 3_600_000, 100_000);
    assert.equal(await count('SELECT count(*)::int AS n FROM outbox WHERE published_seq IS NOT NULL'), 0);
    assert.equal(await count('SELECT count(*)::int AS n FROM outbox WHERE published_seq IS NULL'), 1);
    assert.equal(await count(`SELECT count(*)::int AS n FROM mails WHERE status = 'sent'`), 0);
    assert.equal(await count('SELECT count(*)::int AS n FROM consumed_facts'), 0);
    await t.runtime.facts.drain();
    assert.equal(mailer.sent.filter((mail) => mail.to === 'lee@example.com').length, 1);
  });
});
