// A hold that stays visible (issue 22): after leaving checkout the buyer sees the hold's
// banner with its countdown on every page, My bookings lists it, the event page draws its
// seats as theirs and turns the per-buyer limit into a link back to it; releasing asks
// first; at expiry only "Time is up" is said. At phone size (390×844) and on a desktop.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { saveScreenshot, startBrowserRig, withScreenshots, type BrowserRig } from '../support/browser.ts';
import { clickSeat, holdSeats, makeEvent, openSeatMap } from '../support/browser-pages.ts';
import { testDb } from '../support/harness.ts';

const postgresOnly = testDb !== 'postgres' && 'the browser checks the web app: runs once, in the PostgreSQL pass';

const phone = { width: 390, height: 844 };
const desktop = { width: 1280, height: 900 };
/** The palette's colour of a seat held for this buyer (web/src/seat-map/palette.ts). */
const ownColor = '#111827';

/** The colour drawn at a seat, zoomed in to it first (at a phone's first zoom a seat is a few pixels). */
const colorAt = (page: Page, seatId: string) =>
  page.evaluate((id) => {
    const hooks = (
      document.querySelector('[data-testid="seat-map"]') as unknown as {
        seatMapTest: { colorAt(seatId: string): string | null; reveal(seatId: string): void };
      }
    ).seatMapTest;
    hooks.reveal(id);
    return hooks.colorAt(id);
  }, seatId);

/** axe-core's serious and critical violations on the page as it stands (as test/browser/accessibility.test.ts runs it). */
async function seriousViolations(page: Page): Promise<string[]> {
  // Through the DevTools protocol: the page's Content-Security-Policy refuses an inline script.
  await page.evaluate(await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8'));
  return page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run(
            context: Document,
            options: object,
          ): Promise<{ violations: { id: string; impact: string | null; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    const results = await axe.run(document, { resultTypes: ['violations'] });
    return results.violations
      .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
      .map((violation) => `${violation.id}: ${violation.nodes.map((node) => node.target.join(' ')).join(', ')}`);
  });
}

const mainNav = (page: Page, name: string) =>
  page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });

/** The banner's countdown, and that it ticks down. */
async function assertBannerCounts(page: Page) {
  const banner = page.getByTestId('hold-banner');
  await banner.waitFor();
  const timer = banner.getByTestId('hold-banner-countdown');
  const first = (await timer.textContent()) ?? '';
  assert.match(first, /^(9|10):\d\d$/, `a 10-minute hold shows near 10:00, got ${first}`);
  await page.waitForFunction(
    (shown) => document.querySelector('[data-testid="hold-banner-countdown"]')?.textContent !== shown,
    first,
    { timeout: 3_000 },
  );
  assert.match((await banner.textContent()) ?? '', /2 seats for Browser Test Night held for you/);
}

async function assertFits(page: Page, width: number) {
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), width, 'no sideways scrolling');
  const box = await page.getByTestId('hold-banner').boundingBox();
  assert.ok(
    box && box.x >= 0 && box.x + box.width <= width && box.y < 300,
    `the banner is in view: ${JSON.stringify(box)}`,
  );
}

describe('a hold that stays visible in the browser', { skip: postgresOnly }, () => {
  let rig: BrowserRig;
  before(async () => {
    rig = await startBrowserRig();
  });
  after(async () => rig?.close());

  for (const [size, viewport] of [
    ['desktop', desktop],
    ['phone', phone],
  ] as const) {
    it(`when a buyer leaves checkout (${size}), then the banner, My bookings and the event page keep the hold, and releasing asks first`, async () => {
      const { eventId, seatIds } = await makeEvent(rig);
      const buyer = `hana-${size}`;
      const { page } = await rig.personAs(buyer);
      await page.setViewportSize(viewport);
      const status = async (id: string) =>
        (await rig.apiAs<{ status: string }>(buyer, 'customer', 'GET', `/v1/reservations/${id}`)).status;
      await withScreenshots(
        `hold-banner-${size}`,
        () => [page],
        async () => {
          let reservationId: string;
          if (size === 'desktop') {
            await openSeatMap(page, eventId);
            reservationId = await holdSeats(page, [seatIds[0]!, seatIds[1]!]);
          } else {
            // At phone size the map's seats are too small to tap before zooming (another part of
            // issue 22): the hold is made through the API, and the buyer opens its checkout.
            ({ reservation_id: reservationId } = await rig.apiAs<{ reservation_id: string }>(
              buyer,
              'customer',
              'POST',
              `/v1/events/${eventId}/reservations`,
              { seat_ids: [seatIds[0]!, seatIds[1]!] },
            ));
            await page.goto(`/reservations/${reservationId}`);
          }
          await page.getByTestId('countdown').waitFor();
          assert.equal(await page.getByTestId('hold-banner').isHidden(), true, 'not on its own checkout');

          // Left for the events list: the banner counts down there.
          await mainNav(page, 'Events').click();
          await page.waitForURL(/\/$/);
          await assertBannerCounts(page);
          await assertFits(page, viewport.width);
          await saveScreenshot(page, `hold-banner-events-${size}`);
          assert.deepEqual(await seriousViolations(page), [], 'axe: the events page with the banner');

          // My bookings lists the hold above the bookings.
          await mainNav(page, 'My bookings').click();
          await page.waitForURL(/\/bookings$/);
          const card = page.getByTestId('held-list').locator(`[data-reservation-id="${reservationId}"]`);
          await card.waitFor();
          const cardText = (await card.textContent()) ?? '';
          assert.match(cardText, /Browser Test Night/);
          assert.match(cardText, /Front, row 1, seat 1/);
          assert.match(cardText, /\$180\.00 · held for (9|10):\d\d more/);
          await assertBannerCounts(page);
          await saveScreenshot(page, `hold-banner-bookings-${size}`);
          assert.deepEqual(await seriousViolations(page), [], 'axe: My bookings with a hold');

          // The event page draws the held seats as the buyer's.
          await card.getByRole('link', { name: 'Browser Test Night' }).click();
          await page.waitForURL(new RegExp(`/events/${eventId}$`));
          await page.getByTestId('live-status').getByText('live').waitFor();
          await page.getByTestId('held-note').waitFor();
          for (const seatId of [seatIds[0]!, seatIds[1]!]) {
            const deadline = Date.now() + 5_000;
            while ((await colorAt(page, seatId)) !== ownColor) {
              assert.ok(Date.now() < deadline, `${seatId} is drawn as the buyer's`);
              await page.waitForTimeout(50);
            }
          }
          assert.notEqual(await colorAt(page, seatIds[2]!), ownColor, 'a free seat is not drawn as theirs');
          await saveScreenshot(page, `hold-banner-event-${size}`);
          assert.deepEqual(await seriousViolations(page), [], 'axe: the event page with the held seats');

          if (size === 'desktop') {
            // Over the limit of 4 per buyer: the message leads back to the hold.
            for (const seatId of [seatIds[20]!, seatIds[21]!, seatIds[22]!]) await clickSeat(page, seatId);
            await page.getByTestId('hold').click();
            const notice = page.getByTestId('seat-limit-notice');
            await notice.waitFor();
            assert.match((await notice.textContent()) ?? '', /up to 4 seats of this event, and you already have 2/);
            await saveScreenshot(page, 'hold-banner-limit-desktop');
            await notice.getByTestId('seat-limit-hold-link').click();
          } else {
            await page.getByTestId('hold-banner').getByRole('link', { name: 'Return to checkout' }).click();
          }
          await page.waitForURL(new RegExp(`/reservations/${reservationId}$`));
          await page.getByTestId('countdown').waitFor();

          // Release is quieter than Pay, and asks first: keeping the seats keeps the hold.
          const release = page.getByTestId('release');
          const fill = (testId: string) =>
            page.getByTestId(testId).evaluate((element) => getComputedStyle(element).backgroundColor);
          const looks = { pay: await fill('pay'), release: await fill('release') };
          assert.equal(looks.release, 'rgba(0, 0, 0, 0)', 'release has no fill');
          assert.notEqual(looks.pay, 'rgba(0, 0, 0, 0)', 'pay is filled');
          await release.click();
          const dialog = page.getByRole('dialog', { name: 'Release your seats?' });
          await dialog.waitFor();
          assert.match((await dialog.textContent()) ?? '', /Your 2 seats go back on sale/);
          await saveScreenshot(page, `hold-banner-release-dialog-${size}`);
          assert.deepEqual(await seriousViolations(page), [], 'axe: the release dialog');
          await dialog.getByTestId('keep-seats').click();
          await dialog.waitFor({ state: 'hidden' });
          assert.equal(await status(reservationId), 'active', 'keeping the seats keeps the hold');
          await release.click();
          await dialog.waitFor();
          await page.keyboard.press('Escape');
          await dialog.waitFor({ state: 'hidden' });
          assert.equal(await status(reservationId), 'active', 'Escape keeps the hold');

          await release.click();
          await dialog.getByTestId('confirm-release').click();
          await page.waitForURL(new RegExp(`/events/${eventId}$`));
          assert.equal(await status(reservationId), 'cancelled');
          await mainNav(page, 'My bookings').click();
          await page.waitForURL(/\/bookings$/);
          await page.getByText('No bookings yet').waitFor();
          assert.equal(await page.getByTestId('hold-banner').isHidden(), true, 'no banner without a hold');
          assert.equal(await page.getByTestId('held-list').isHidden(), true, 'no hold listed');
        },
      );
    });
  }
});

describe('a hold that runs out while it is shown', { skip: postgresOnly }, () => {
  let rig: BrowserRig;
  before(async () => {
    rig = await startBrowserRig({ HOLD_TTL_SECONDS: '6', SWEEP_INTERVAL_MS: '100' });
  });
  after(async () => rig?.close());

  it('when the hold ends, then the banner goes without showing 0:00, and checkout says only that time is up', async () => {
    const { eventId, seatIds } = await makeEvent(rig);
    const { page } = await rig.personAs('ines');
    await page.setViewportSize(phone);
    const hold = (seatId: string) =>
      rig.apiAs<{ reservation_id: string }>('ines', 'customer', 'POST', `/v1/events/${eventId}/reservations`, {
        seat_ids: [seatId],
      });
    await withScreenshots(
      'hold-banner-expiry',
      () => [page],
      async () => {
        // Every text the banner shows until it goes.
        await page.goto('/');
        await hold(seatIds[3]!);
        await page.evaluate(() => {
          const seen: string[] = [];
          (window as unknown as { bannerTexts: string[] }).bannerTexts = seen;
          const banner = document.querySelector('[data-testid="hold-banner"]')!;
          new MutationObserver(() =>
            seen.push(banner.hasAttribute('hidden') ? '' : (banner.textContent ?? '')),
          ).observe(banner, { subtree: true, childList: true, characterData: true, attributes: true });
        });
        await mainNav(page, 'Events').click(); // a navigation looks the holds up
        const banner = page.getByTestId('hold-banner');
        await banner.waitFor();
        await banner.waitFor({ state: 'hidden', timeout: 10_000 });
        const texts = await page.evaluate(() => (window as unknown as { bannerTexts: string[] }).bannerTexts);
        assert.ok(
          texts.some((text) => /held for you · 0:0[1-6] left/.test(text)),
          JSON.stringify(texts),
        );
        assert.ok(!texts.some((text) => text.includes('0:00')), `never 0:00: ${JSON.stringify(texts)}`);

        const { reservation_id: reservationId } = await hold(seatIds[4]!);
        await page.goto(`/reservations/${reservationId}`);
        const checkout = page.locator('section.checkout');
        await checkout.getByText('Less than a minute left to pay.').waitFor();
        await page.getByTestId('hold-ended').waitFor({ timeout: 10_000 });
        const text = (await checkout.innerText()) ?? '';
        assert.match(text, /Time is up/);
        assert.doesNotMatch(text, /held for|0:00|Less than a minute/i, text);
        assert.equal(await page.getByTestId('countdown').isVisible(), false);
        await saveScreenshot(page, 'hold-banner-expired-checkout-phone');
        assert.deepEqual(await seriousViolations(page), [], 'axe: checkout after the hold ended');
        assert.equal(await page.getByTestId('hold-banner').isHidden(), true);
      },
    );
  });
});
