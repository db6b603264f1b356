// The web app under its Content-Security-Policy: every page a buyer and an organizer go
// through works, and the browser refuses nothing (no inline script or style, nothing
// from elsewhere). The policy itself is checked in test/http/web-app.test.ts.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { startBrowserRig, withScreenshots, type BrowserRig } from '../support/browser.ts';
import { holdSeats, makeEvent, openSeatMap, watchViolations } from '../support/browser-pages.ts';
import { testDb } from '../support/harness.ts';

/** The background color the first legend swatch is drawn with (set from code, through the CSSOM). */
const swatchColor = (page: Page) =>
  page
    .locator('.swatch')
    .first()
    .evaluate((element) => getComputedStyle(element).backgroundColor);

// The browser checks the web app, whatever the database under it: once, on PostgreSQL.
const postgresOnly = testDb !== 'postgres' && 'the browser checks the web app: runs once, in the PostgreSQL pass';

describe('the web app under its Content-Security-Policy', { skip: postgresOnly }, () => {
  let rig: BrowserRig;
  before(async () => {
    rig = await startBrowserRig();
  });
  after(async () => rig?.close());

  it('when a buyer browses, holds and pays, and an organizer builds an event, then the policy refuses nothing', async () => {
    const { eventId, seatIds } = await makeEvent(rig, { name: 'Policy Night' });
    const buyer = await rig.personAs('cspbuyer');
    const organizer = await rig.personAs('csporganizer', 'organizer');
    await withScreenshots(
      'content-security',
      () => [buyer.page, organizer.page],
      async () => {
        const buyerViolations = await watchViolations(buyer.page);
        const home = await buyer.page.goto('/');
        assert.match(String(home?.headers()['content-security-policy']), /script-src 'self'/);
        assert.equal(home?.headers()['x-frame-options'], 'DENY');
        await buyer.page.getByTestId('event-list').locator('li', { hasText: 'Policy Night' }).waitFor();

        await openSeatMap(buyer.page, eventId);
        assert.notEqual(await swatchColor(buyer.page), 'rgba(0, 0, 0, 0)', 'the tier legend keeps its colors');
        await holdSeats(buyer.page, [seatIds[0]!]);
        await buyer.page.getByTestId('countdown').waitFor();
        await buyer.page.getByLabel(/accepted/i).check();
        await buyer.page.getByTestId('pay').click();
        await buyer.page.getByTestId('booking-confirmation').waitFor();
        assert.deepEqual(await buyerViolations(), []);

        const organizerViolations = await watchViolations(organizer.page);
        await organizer.page.goto('/organize');
        await organizer.page.getByTestId('builder-preview').locator('canvas').waitFor();
        assert.notEqual(await swatchColor(organizer.page), 'rgba(0, 0, 0, 0)', 'the preview legend keeps its colors');
        assert.deepEqual(await organizerViolations(), []);
      },
    );
  });
});
