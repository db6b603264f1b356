// An event's limit per payment card in the browser: a buyer whose card already paid for the
// event's max_seats_per_card (through another account) is told so at checkout, keeps the hold,
// and pays with another card.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { saveScreenshot, startBrowserRig, withScreenshots, type BrowserRig } from '../support/browser.ts';
import { holdSeats, makeEvent, openSeatMap, watchViolations } from '../support/browser-pages.ts';
import { testDb } from '../support/harness.ts';

const postgresOnly = testDb !== 'postgres' && 'the browser checks the web app: runs once, in the PostgreSQL pass';

describe('seats per payment card in the browser', { skip: postgresOnly }, () => {
  let rig: BrowserRig;
  before(async () => {
    rig = await startBrowserRig();
  });
  after(async () => rig?.close());

  it("when the buyer's card is at the event's limit, then checkout says so, keeps the hold, and another card pays", async () => {
    const { eventId, seatIds } = await makeEvent(rig, { name: 'One Card Night', max_seats_per_card: 2 });
    // Another account already paid for 2 seats with the accepted test card (pm_card_visa).
    const { reservation_id: earlier } = await rig.apiAs<{ reservation_id: string }>(
      'other-account',
      'customer',
      'POST',
      `/v1/events/${eventId}/reservations`,
      { seat_ids: [seatIds[10]!, seatIds[11]!] },
    );
    await rig.apiAs(
      'other-account',
      'customer',
      'POST',
      `/v1/reservations/${earlier}/confirm`,
      {
        payment_method: 'pm_card_visa',
      },
      { 'idempotency-key': randomUUID() },
    );

    const { page } = await rig.personAs('cora');
    const violations = await watchViolations(page);
    await withScreenshots(
      'card-limit',
      () => [page],
      async () => {
        await openSeatMap(page, eventId);
        const reservationId = await holdSeats(page, [seatIds[0]!]);
        await page.getByTestId('countdown').waitFor();
        await page.getByLabel(/accepted/i).check();
        await page.getByTestId('pay').click();
        const refusal = page.getByRole('alert').filter({ hasText: /limit of 2 seats per card/ });
        await refusal.first().waitFor();
        assert.match((await refusal.first().textContent()) ?? '', /not charged.*still held.*another card/);
        await saveScreenshot(page, 'card-limit-refused');
        const held = await rig.apiAs<{ status: string }>(
          'cora',
          'customer',
          'GET',
          `/v1/reservations/${reservationId}`,
        );
        assert.equal(held.status, 'active');

        await page.getByLabel(/Mastercard/).check();
        await page.getByTestId('pay').click();
        await page.getByTestId('booking-confirmation').waitFor();
        const booked = await rig.apiAs<{ status: string }>(
          'cora',
          'customer',
          'GET',
          `/v1/reservations/${reservationId}`,
        );
        assert.equal(booked.status, 'confirmed');
        await saveScreenshot(page, 'card-limit-paid');
      },
    );
    assert.deepEqual(await violations(), []);
  });
});
