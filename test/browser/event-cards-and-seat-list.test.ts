// The event list's cards say where each sale stands (on sale, opening later, waiting room),
// and the seat list pages through a venue larger than one page, by keyboard.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { saveScreenshot, startBrowserRig, withScreenshots, type BrowserRig } from '../support/browser.ts';
import { makeEvent, openSeatMap, selectedSeats } from '../support/browser-pages.ts';
import { testDb } from '../support/harness.ts';

const postgresOnly = testDb !== 'postgres' && 'the browser checks the web app: runs once, in the PostgreSQL pass';

describe('event cards and the paged seat list', { skip: postgresOnly }, () => {
  let rig: BrowserRig;
  before(async () => {
    rig = await startBrowserRig();
  });
  after(async () => rig?.close());

  it('when events are listed, then each card shows its sale badges', async () => {
    await makeEvent(rig, { name: 'Badges Open Night' });
    await makeEvent(rig, {
      name: 'Badges Queue Night',
      waiting_room: { enabled: true, admit_per_minute: 60 },
      sale_opens_at: new Date(Date.now() + 3 * 86_400_000).toISOString(),
    });
    const { page } = await rig.personAs('cardbuyer');
    await withScreenshots(
      'event-cards',
      () => [page],
      async () => {
        await page.setViewportSize({ width: 390, height: 844 });
        await page.goto('/?q=badges');
        const card = (name: string) => page.getByTestId('event-list').locator('li', { hasText: name });
        await card('Badges Queue Night').waitFor();
        const badges = async (name: string) =>
          card(name).getByTestId('sale-badges').locator('.sale-badge').allTextContents();
        assert.deepEqual(await badges('Badges Open Night'), ['On sale']);
        const queued = await badges('Badges Queue Night');
        assert.equal(queued.length, 2, String(queued));
        assert.match(queued[0]!, /^Sale opens \w+/);
        assert.equal(queued[1], 'Waiting room');
        await saveScreenshot(page, 'event-cards-phone');
      },
    );
  });

  it('when the seat list has more seats than a page, then "Show more" adds the next page and takes the keyboard there', async () => {
    // 450 seats: two pages of 200 and one of 50.
    const { eventId, seatIds } = await makeEvent(rig, {
      name: 'Paging Night',
      price_tiers: [{ id: 'all', name: 'All', price_cents: 2000, currency: 'USD' }],
      seat_map: {
        sections: [
          {
            name: 'Hall',
            price_tier: 'all',
            rows: Array.from({ length: 15 }, (_, row) => ({ label: String(row + 1), seats: 30 })),
          },
        ],
      },
    });
    const { page } = await rig.personAs('pagebuyer');
    await withScreenshots(
      'seat-list-paging',
      () => [page],
      async () => {
        await openSeatMap(page, eventId);
        await page.getByRole('button', { name: 'Show a list of available seats' }).click();
        const rows = page.locator('.seat-list tbody tr');
        await rows.first().waitFor();
        assert.equal(await rows.count(), 200);
        const more = page.getByRole('button', { name: 'Show 200 more' });
        await more.focus();
        await page.keyboard.press('Enter');
        await page.getByRole('button', { name: 'Show 50 more' }).waitFor();
        assert.equal(await rows.count(), 400);
        const focusedSeat = () =>
          page.evaluate(() => document.activeElement?.closest('tr')?.getAttribute('data-seat-id') ?? null);
        assert.equal(await focusedSeat(), seatIds[200], 'the keyboard goes on from the first seat added');
        await page.keyboard.press('Space');
        assert.deepEqual(await selectedSeats(page), [seatIds[200]]);

        await page.getByRole('button', { name: 'Show 50 more' }).press('Enter');
        assert.equal(await rows.count(), 450);
        assert.equal(await focusedSeat(), seatIds[400]);
        assert.equal(await page.getByRole('button', { name: /^Show \d+ more$/ }).count(), 0, 'no more to show');
        assert.match(
          (await page.locator('.seat-list p').first().textContent()) ?? '',
          /450 available seats match; showing 450/,
        );
        await saveScreenshot(page, 'seat-list-paging');
      },
    );
  });
});
