// After the sale, in the browser: a 3-D Secure payment approved or declined at the (test
// provider's) bank page while checkout waits for the outcome; a buyer cancelling under the
// event's refund policy, shown the refund before confirming; an organizer refunding a
// booking, setting the refund policy and cancelling an event until every booking is refunded.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { saveScreenshot, startBrowserRig, withScreenshots, type BrowserRig } from '../support/browser.ts';
import { holdSeats, makeEvent, openSeatMap, watchViolations } from '../support/browser-pages.ts';
import { testDb } from '../support/harness.ts';

interface ReservationState {
  status: string;
  expires_at: string;
  booking_id: string | null;
  payment_status?: string;
}

/** A booking made through the API with the card that is accepted. */
async function bookThroughApi(rig: BrowserRig, userId: string, eventId: string, seatIds: string[]) {
  const { reservation_id: reservationId } = await rig.apiAs<{ reservation_id: string }>(
    userId,
    'customer',
    'POST',
    `/v1/events/${eventId}/reservations`,
    { seat_ids: seatIds },
  );
  const booking = await rig.apiAs<{ booking_id: string }>(
    userId,
    'customer',
    'POST',
    `/v1/reservations/${reservationId}/confirm`,
    { payment_method: 'pm_card_visa' },
    { 'idempotency-key': randomUUID() },
  );
  return booking.booking_id;
}

const seatStatusOf = async (rig: BrowserRig, eventId: string, seatId: string) =>
  (
    await rig.apiAs<{ seats: { seat_id: string; status: string }[] }>(
      'olivia',
      'organizer',
      'GET',
      `/v1/events/${eventId}/seats`,
    )
  ).seats.find((seat) => seat.seat_id === seatId)?.status;

/** Seconds the checkout countdown shows ("14:58" -> 898). */
async function countdownSeconds(page: Page): Promise<number> {
  const text = (await page.getByTestId('countdown').textContent()) ?? '';
  const [minutes, seconds] = text.split(':').map(Number);
  return minutes! * 60 + seconds!;
}

/** Holds seats on the map and pays with the 3-D Secure card; resolves on the bank's page. */
async function payWithThreeDSecure(page: Page, eventId: string, seatIds: string[]): Promise<string> {
  await openSeatMap(page, eventId);
  const reservationId = await holdSeats(page, seatIds);
  await page.getByTestId('countdown').waitFor();
  await page.getByLabel(/3-D Secure card/).check();
  await page.getByTestId('pay').click();
  await page.waitForURL(/\/#\/bank\/[^/]+$/);
  await page.getByTestId('bank').waitFor();
  return reservationId;
}

// The browser checks the web app, whatever the database under it: once, on PostgreSQL.
const postgresOnly = testDb !== 'postgres' && 'the browser checks the web app: runs once, in the PostgreSQL pass';

describe('payments, cancellations and refunds in the browser', { skip: postgresOnly }, () => {
  let rig: BrowserRig;
  before(async () => {
    rig = await startBrowserRig();
  });
  after(async () => rig?.close());

  it('when a buyer pays with a 3-D Secure card and approves at the bank, then checkout waits and shows the booking', async () => {
    const { eventId, seatIds } = await makeEvent(rig, { name: 'Secure Card Night' });
    const { page } = await rig.personAs('tessa');
    const violations = await watchViolations(page);
    await withScreenshots(
      'payments-3ds-approve',
      () => [page],
      async () => {
        const reservationId = await payWithThreeDSecure(page, eventId, [seatIds[0]!, seatIds[1]!]);
        assert.match(
          (await page.getByTestId('bank-question').textContent()) ?? '',
          /^Approve this payment of \$180\.00 to Boxoffice\?$/,
        );
        await saveScreenshot(page, 'payments-bank');

        // Back at checkout without answering: the payment is pending, the hold kept for it.
        await page.goBack();
        await page.waitForURL(/\/reservations\/[^/#]+$/);
        const pending = page.getByTestId('payment-pending');
        await pending.getByText('Payment processing…').waitFor();
        await pending.getByText('Waiting for your bank').waitFor();
        assert.equal(await page.getByTestId('pay').isDisabled(), true, 'no second payment while one is pending');
        // The countdown runs to the 202's expires_at (the pending grace, past the 10-minute hold).
        const reservation = await rig.apiAs<ReservationState>(
          'tessa',
          'customer',
          'GET',
          `/v1/reservations/${reservationId}`,
        );
        assert.equal(reservation.payment_status, 'requires_action');
        const expectedSeconds = (Date.parse(reservation.expires_at) - Date.now()) / 1000;
        assert.ok(expectedSeconds > 600, `the hold is kept past its 10 minutes while pending (${expectedSeconds}s)`);
        const shownSeconds = await countdownSeconds(page);
        assert.ok(
          Math.abs(shownSeconds - expectedSeconds) <= 3,
          `countdown ${shownSeconds}s, hold ends in ${expectedSeconds}s`,
        );
        await saveScreenshot(page, 'payments-pending');

        await page.getByTestId('continue-at-bank').click();
        await page.waitForURL(/\/#\/bank\/[^/]+$/);
        await page.getByTestId('bank-approve').click();
        await page.waitForURL(/\/reservations\/[^/#]+$/);
        const confirmation = page.getByTestId('booking-confirmation');
        await confirmation.waitFor();
        const booked = await rig.apiAs<ReservationState>(
          'tessa',
          'customer',
          'GET',
          `/v1/reservations/${reservationId}`,
        );
        assert.equal(booked.status, 'confirmed');
        assert.equal(booked.payment_status, 'succeeded');
        assert.ok((await confirmation.textContent())?.includes(booked.booking_id!));
        assert.equal(await seatStatusOf(rig, eventId, seatIds[0]!), 'booked');
        await saveScreenshot(page, 'payments-3ds-booked');
        assert.deepEqual(await violations(), [], 'the Content-Security-Policy refused nothing');
      },
    );
  });

  it('when a buyer declines at the bank, then checkout says the payment failed and the seats are released', async () => {
    const { eventId, seatIds } = await makeEvent(rig, { name: 'Declined Card Night' });
    const { page } = await rig.personAs('dario');
    const violations = await watchViolations(page);
    await withScreenshots(
      'payments-3ds-decline',
      () => [page],
      async () => {
        const seat = seatIds[5]!;
        const reservationId = await payWithThreeDSecure(page, eventId, [seat]);
        assert.equal(await seatStatusOf(rig, eventId, seat), 'held', 'held while the bank is asked');
        await page.getByTestId('bank-decline').click();
        await page.waitForURL(/\/reservations\/[^/#]+$/);
        const failed = page.getByTestId('payment-failed');
        await failed.waitFor();
        assert.match((await failed.textContent()) ?? '', /Payment failed.*seats were released/);
        assert.equal(await page.getByTestId('pay').isDisabled(), true);
        const reservation = await rig.apiAs<ReservationState>(
          'dario',
          'customer',
          'GET',
          `/v1/reservations/${reservationId}`,
        );
        assert.equal(reservation.payment_status, 'failed');
        assert.equal(await seatStatusOf(rig, eventId, seat), 'available');
        await saveScreenshot(page, 'payments-3ds-declined');
        assert.deepEqual(await violations(), [], 'the Content-Security-Policy refused nothing');
      },
    );
  });

  it('when a buyer cancels under the refund policy, then the refund and fee show before confirming, then the booking is cancelled with its refunds', async () => {
    const { eventId, seatIds } = await makeEvent(rig, {
      name: 'Refundable Night',
      refund_policy: { buyer_cancel_until_hours: 48, fee_percent: 10 },
    });
    const strict = await makeEvent(rig, { name: 'Final Sale Night' });
    const bookingId = await bookThroughApi(rig, 'rita', eventId, [seatIds[0]!, seatIds[1]!]);
    const finalSaleId = await bookThroughApi(rig, 'rita', strict.eventId, [strict.seatIds[0]!]);
    const { page } = await rig.personAs('rita');
    const violations = await watchViolations(page);
    await withScreenshots(
      'payments-cancel-booking',
      () => [page],
      async () => {
        await page.goto('/bookings');
        const card = page.locator(`[data-booking-id="${bookingId}"]`);
        await card.waitFor();
        assert.equal(await card.getByTestId('booking-status').textContent(), 'Confirmed');
        assert.match((await card.getByTestId('cancel-note').textContent()) ?? '', /You can cancel until .*10% fee/);

        // A booking of an event without a policy: the button is off, and says why.
        const finalSale = page.locator(`[data-booking-id="${finalSaleId}"]`);
        assert.equal(await finalSale.getByTestId('cancel-booking').isDisabled(), true);
        assert.equal(
          await finalSale.getByTestId('cancel-note').textContent(),
          'This event does not allow cancellations.',
        );

        await card.getByTestId('cancel-booking').click();
        assert.equal(await card.getByTestId('refund-amount').textContent(), '$162.00');
        assert.equal(await card.getByTestId('refund-fee').textContent(), '$18.00');
        // One seat only: the refund follows the choice. Nothing is cancelled before confirming.
        await card.getByLabel(/Front, row 1, seat 1/).uncheck();
        await card.getByTestId('refund-amount').filter({ hasText: '$81.00' }).waitFor();
        assert.equal(await card.getByTestId('refund-fee').textContent(), '$9.00');
        await saveScreenshot(page, 'payments-cancel-quote');
        const untouched = await rig.apiAs<{ status: string }>('rita', 'customer', 'GET', `/v1/bookings/${bookingId}`);
        assert.equal(untouched.status, 'confirmed');

        await card.getByTestId('confirm-cancel').click();
        await card.getByTestId('booking-status').filter({ hasText: 'Partially cancelled' }).waitFor();
        const firstRefund = card.getByTestId('refunds').locator('li');
        assert.equal(await firstRefund.count(), 1);
        assert.match((await firstRefund.textContent()) ?? '', /\$81\.00 for 1 seat \(fee \$9\.00 kept\).*Refunded/);

        // The rest of it.
        await card.getByTestId('cancel-booking').click();
        assert.equal(await card.getByTestId('refund-amount').textContent(), '$81.00');
        await card.getByTestId('confirm-cancel').click();
        await card
          .getByTestId('booking-status')
          .filter({ hasText: /^Cancelled$/ })
          .waitFor();
        assert.equal(await card.getByTestId('cancel-booking').count(), 0, 'nothing left to cancel');

        // As the service keeps it: a reload shows both refunds.
        await page.reload();
        await card
          .getByTestId('booking-status')
          .filter({ hasText: /^Cancelled$/ })
          .waitFor();
        const refunds = card.getByTestId('refunds').locator('li');
        assert.equal(await refunds.count(), 2);
        assert.deepEqual(await refunds.evaluateAll((items) => items.map((item) => item.getAttribute('data-status'))), [
          'succeeded',
          'succeeded',
        ]);
        const booking = await rig.apiAs<{ status: string; refunds: { amount_cents: number; fee_cents: number }[] }>(
          'rita',
          'customer',
          'GET',
          `/v1/bookings/${bookingId}`,
        );
        assert.equal(booking.status, 'cancelled');
        assert.deepEqual(
          booking.refunds.map((refund) => [refund.amount_cents, refund.fee_cents]),
          [
            [8100, 900],
            [8100, 900],
          ],
        );
        assert.equal(await seatStatusOf(rig, eventId, seatIds[0]!), 'available');
        await saveScreenshot(page, 'payments-cancelled');
        assert.deepEqual(await violations(), [], 'the Content-Security-Policy refused nothing');
      },
    );
  });

  it('when an organizer refunds a booking, sets the refund policy and cancels the event, then the progress reaches done', async () => {
    const { eventId, seatIds } = await makeEvent(rig, { name: 'Storm Warning Night' });
    const first = await bookThroughApi(rig, 'bea', eventId, [seatIds[0]!, seatIds[1]!]);
    await bookThroughApi(rig, 'ben', eventId, [seatIds[2]!]);
    const { page } = await rig.personAs('olivia', 'organizer');
    const violations = await watchViolations(page);
    await withScreenshots(
      'payments-organizer',
      () => [page],
      async () => {
        await page.goto('/organize');

        // Refund a booking: one seat of it, in full.
        const refund = page.getByTestId('refund-panel');
        await refund.getByLabel('Booking ID').fill(first);
        await refund.getByLabel('Seats (optional)').fill(seatIds[1]!);
        await refund.getByLabel('Reason').fill('Seat broken');
        await refund.getByTestId('refund-booking').click();
        const outcome = page.getByTestId('refund-outcome');
        await outcome.getByText(`Refunded $90.00 of booking ${first}.`).waitFor();
        assert.equal(await outcome.getByTestId('booking-status').textContent(), 'Partially cancelled');

        // The refund policy, set on the event.
        const item = page.getByTestId('my-events').locator(`li[data-event-id="${eventId}"]`);
        await item.getByText('Refunds and cancellation').click();
        await item.getByLabel('Let buyers cancel for a refund').check();
        await item.getByLabel('Until (hours before the start)').fill('24');
        await item.getByLabel('Cancellation fee (%)').fill('5');
        await item.getByTestId('save-refund-policy').click();
        await item.getByText('Saved: buyers may cancel until 24 hours before the start, with a 5% fee.').waitFor();
        const event = await rig.apiAs<{ refund_policy: unknown }>(
          'olivia',
          'organizer',
          'GET',
          `/v1/events/${eventId}`,
        );
        assert.deepEqual(event.refund_policy, { buyer_cancel_until_hours: 24, fee_percent: 5 });

        // Cancel the event: a confirmation first, then the refunds' progress until done.
        await item.getByTestId('cancel-event').click();
        const confirmation = item.getByRole('group', { name: 'Cancel “Storm Warning Night”?' });
        await confirmation.getByText('every booking is refunded in full').waitFor();
        await saveScreenshot(page, 'payments-organizer-confirm');
        assert.equal(
          (
            (await rig.apiAs<{ status: string }>('olivia', 'organizer', 'GET', `/v1/events/${eventId}`)) as {
              status: string;
            }
          ).status,
          'published',
          'nothing is cancelled before the confirmation',
        );
        await confirmation.getByTestId('confirm-cancel-event').click();
        const progress = item.getByTestId('cancellation-progress');
        await item.locator('[data-testid="cancellation-progress"][data-status="done"]').waitFor({ timeout: 20_000 });
        assert.equal(await progress.getByTestId('progress-bookings').textContent(), '2');
        assert.equal(await progress.getByTestId('progress-refunded').textContent(), '2');
        assert.equal(await progress.getByTestId('progress-failed').textContent(), '0');
        assert.match((await progress.textContent()) ?? '', /Done: 2 of 2 bookings refunded\./);
        assert.equal(await item.getByTestId('event-status').textContent(), 'cancelled');
        await saveScreenshot(page, 'payments-organizer-done');
        assert.deepEqual(await violations(), [], 'the Content-Security-Policy refused nothing');
      },
    );
  });
});
