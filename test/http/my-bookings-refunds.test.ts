// /v1/me/bookings shows each booking's refunds, as GET /v1/bookings/{id} does: a buyer's list
// of a cancelled booking said refunds: [] (found by test/browser/payments.test.ts, where My
// bookings lists them after a reload).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { auth, confirmReservation, createEvent, holdSeats, startTestApp, type TestApp } from '../support/harness.ts';

describe('my bookings with their refunds', () => {
  let t: TestApp;
  before(async () => {
    t = await startTestApp();
  });
  after(() => t?.close());

  test('when a buyer cancels some seats of a booking, then /v1/me/bookings lists its refunds like the booking itself', async () => {
    const eventId = await createEvent(t, { refund_policy: { buyer_cancel_until_hours: 1, fee_percent: 10 } });
    const token = await t.token('lena');
    const kept = await confirmReservation(t, 'lena', await holdSeats(t, eventId, 'lena', ['s0']), 'kept');
    const partly = await confirmReservation(t, 'lena', await holdSeats(t, eventId, 'lena', ['s1', 's2']), 'partly');
    assert.equal(kept.statusCode, 201, kept.body);
    assert.equal(partly.statusCode, 201, partly.body);
    const bookingId = partly.json().booking_id as string;
    const cancelled = await t.app.inject({
      method: 'POST',
      url: `/v1/bookings/${bookingId}/cancel`,
      headers: { ...auth(token), 'idempotency-key': 'cancel-s2' },
      payload: { seat_ids: ['s2'] },
    });
    assert.equal(cancelled.statusCode, 200, cancelled.body);
    assert.equal(cancelled.json().refunds.length, 1);

    const one = (await t.app.inject({ method: 'GET', url: `/v1/bookings/${bookingId}`, headers: auth(token) })).json();
    const list = (await t.app.inject({ method: 'GET', url: '/v1/me/bookings', headers: auth(token) })).json();
    const listed = (list.bookings as { booking_id: string; refunds: unknown[] }[]).find(
      (booking) => booking.booking_id === bookingId,
    );
    assert.equal(one.status, 'partially_cancelled');
    assert.deepEqual(listed, one);
    assert.deepEqual(
      (list.bookings as { booking_id: string; refunds: unknown[] }[]).find(
        (booking) => booking.booking_id === kept.json().booking_id,
      )?.refunds,
      [],
    );
  });
});
