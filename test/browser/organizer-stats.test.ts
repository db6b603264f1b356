// The organizer watches their sale live: from Your events, "Live sale" opens the figures (and
// the event's page links to them);
// bookings made through the API meanwhile show up in the numbers and in the uPlot charts
// without a reload (the stats stream), nothing breaks the Content-Security-Policy, and the
// attendee list downloads as CSV.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { saveScreenshot, startBrowserRig, withScreenshots, type BrowserRig } from '../support/browser.ts';
import { makeEvent, watchViolations } from '../support/browser-pages.ts';
import { testDb } from '../support/harness.ts';

const postgresOnly = testDb !== 'postgres' && 'the browser checks the web app: runs once, in the PostgreSQL pass';

/** Waits until the element's data attribute reads the value (the page sets them as it draws). */
const dataIs = (page: Page, testId: string, name: string, value: string) =>
  page.waitForFunction(
    ([id, attribute, expected]) =>
      document.querySelector<HTMLElement>(`[data-testid="${id}"]`)?.dataset[attribute!] === expected,
    [testId, name, value],
    { timeout: 15_000 },
  );

describe("the organizer's live sale page", { skip: postgresOnly }, () => {
  let rig: BrowserRig;
  before(async () => {
    rig = await startBrowserRig();
  });
  after(async () => rig?.close());

  const buy = async (buyer: string, seatIds: string[]) => {
    const { reservation_id: reservationId } = await rig.apiAs<{ reservation_id: string }>(
      buyer,
      'customer',
      'POST',
      `/v1/events/${eventId}/reservations`,
      { seat_ids: seatIds },
    );
    await rig.apiAs(
      buyer,
      'customer',
      'POST',
      `/v1/reservations/${reservationId}/confirm`,
      { payment_method: 'pm_card_visa' },
      { 'idempotency-key': `stats-${reservationId}` },
    );
  };
  let eventId = '';

  it('when buyers book while the organizer watches, then the figures and charts change live', async () => {
    const made = await makeEvent(rig, { name: 'Live Figures Night' });
    eventId = made.eventId;
    const { page } = await rig.personAs('olivia', 'organizer');
    await withScreenshots(
      'organizer-stats',
      () => [page],
      async () => {
        const violations = await watchViolations(page);
        await page.goto('/organize');
        await page
          .getByTestId('my-events')
          .locator(`li[data-event-id="${eventId}"]`)
          .getByTestId('sale-stats-link')
          .click();
        await page.waitForURL(new RegExp(`/organize/events/${eventId}/stats$`));
        await page.getByTestId('stats-live').getByText('live').waitFor();
        await dataIs(page, 'stats-sold', 'value', '0');
        assert.equal(await page.getByTestId('stats-available').textContent(), '100');
        // uPlot drew both charts (a canvas each).
        assert.equal(await page.locator('.stats-chart canvas').count(), 2);

        await buy('fig-buyer-1', [made.seatIds[0]!, made.seatIds[1]!]);
        await dataIs(page, 'stats-sold', 'value', '2');
        await dataIs(page, 'stats-bookings', 'value', '1'); // the bus's consumer caught up
        await dataIs(page, 'chart-bookings-per-minute', 'total', '1');

        await buy('fig-buyer-2', [made.seatIds[40]!]);
        await dataIs(page, 'stats-sold', 'value', '3');
        await dataIs(page, 'stats-bookings', 'value', '2');
        await dataIs(page, 'chart-bookings-per-minute', 'total', '2');
        assert.equal(await page.getByTestId('stats-available').textContent(), '97');
        const points = Number(await page.getByTestId('chart-seats').getAttribute('data-points'));
        assert.ok(points >= 3, `the seats chart gained a point per change (${points})`);
        const revenues = await page.getByTestId('tier-revenue').allTextContents();
        assert.deepEqual(revenues, ['$180.00', '$40.00']);
        await saveScreenshot(page, 'organizer-stats');

        const [download] = await Promise.all([
          page.waitForEvent('download'),
          page.getByTestId('attendees-csv').click(),
        ]);
        const csv = await readFile((await download.path())!, 'utf8');
        const lines = csv.trim().split('\r\n');
        assert.match(lines[0]!, /^booking_id,buyer,seat_id,/);
        assert.equal(lines.length, 4, csv);

        // The event's own page leads its organizer back here.
        await page.goto(`/events/${eventId}`);
        await page.getByTestId('event-sale-stats-link').click();
        await page.waitForURL(new RegExp(`/organize/events/${eventId}/stats$`));
        await dataIs(page, 'stats-sold', 'value', '3');
        assert.deepEqual(await violations(), []);
      },
    );
  });
});
