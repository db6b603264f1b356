// Two people on one seat map: what one holds, the other sees at once, without reloading.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { startBrowserRig, withScreenshots, type BrowserRig } from '../support/browser.ts';
import {
  clickSeat,
  holdSeats,
  makeEvent,
  openSeatMap,
  seatStatus,
  selectedSeats,
  waitForSeatStatus,
} from '../support/browser-pages.ts';
import { testDb } from '../support/harness.ts';

// The browser checks the web app (test/http/live.test.ts runs the feed on both): once, on PostgreSQL.
const postgresOnly = testDb !== 'postgres' && 'the browser checks the web app: runs once, in the PostgreSQL pass';

describe('live seat map in the browser', { skip: postgresOnly }, () => {
  let rig: BrowserRig;
  before(async () => {
    rig = await startBrowserRig();
  });
  after(async () => rig?.close());

  it('when A holds a seat, then B sees it turn held within 1 s without reloading and cannot select it', async () => {
    const { eventId, seatIds } = await makeEvent(rig);
    const a = await rig.personAs('anna');
    const b = await rig.personAs('bruno');
    const pages: Page[] = [a.page, b.page];
    await withScreenshots(
      'live-hold',
      () => pages,
      async () => {
        await Promise.all([openSeatMap(a.page, eventId), openSeatMap(b.page, eventId)]);
        const seat = seatIds[5]!;
        assert.equal(await seatStatus(b.page, seat), 'available');
        const navigationBefore = await b.page.evaluate(() => performance.getEntriesByType('navigation').length);

        await clickSeat(a.page, seat);
        assert.deepEqual(await selectedSeats(a.page), [seat]);
        const held = a.page.waitForResponse(
          (response) => response.url().endsWith('/reservations') && response.status() === 201,
        );
        await a.page.getByTestId('hold').click();
        await held;
        const tookMs = await waitForSeatStatus(b.page, seat, 'held', 1_000);
        assert.ok(tookMs <= 1_000, `B saw the hold after ${tookMs} ms`);

        // No reload: still the same document.
        assert.equal(await b.page.evaluate(() => performance.getEntriesByType('navigation').length), navigationBefore);
        await clickSeat(b.page, seat);
        assert.deepEqual(await selectedSeats(b.page), [], 'a held seat cannot be selected');
        assert.equal(await b.page.getByTestId('hold').isDisabled(), true);
      },
    );
  });

  it("when a seat B has selected is taken by A, then it leaves B's selection with a message", async () => {
    const { eventId, seatIds } = await makeEvent(rig);
    const a = await rig.personAs('alma');
    const b = await rig.personAs('bea');
    await withScreenshots(
      'live-deselect',
      () => [a.page, b.page],
      async () => {
        await Promise.all([openSeatMap(a.page, eventId), openSeatMap(b.page, eventId)]);
        const [mine, contested] = [seatIds[40]!, seatIds[41]!];
        await clickSeat(b.page, mine);
        await clickSeat(b.page, contested);
        assert.deepEqual(await selectedSeats(b.page), [mine, contested]);

        await holdSeats(a.page, [contested]);
        await waitForSeatStatus(b.page, contested, 'held', 5_000);
        assert.deepEqual(await selectedSeats(b.page), [mine]);
        await b.page.getByRole('alert').filter({ hasText: 'just taken by someone else' }).waitFor({ timeout: 5_000 });
        // B goes on with the seat that is left.
        await b.page.getByTestId('hold').click();
        await b.page.waitForURL(/\/reservations\//);
      },
    );
  });

  it('when a buyer uses the keyboard or the seat list, then seats can be chosen without a mouse', async () => {
    const { eventId, seatIds } = await makeEvent(rig);
    const { page } = await rig.personAs('kai');
    await withScreenshots(
      'keyboard',
      () => [page],
      async () => {
        await openSeatMap(page, eventId);
        const canvas = page.getByTestId('seat-canvas');
        assert.ok(await canvas.getAttribute('aria-label'));
        await canvas.focus();
        await page.keyboard.press('ArrowRight');
        await page.keyboard.press('Enter');
        const chosen = await selectedSeats(page);
        assert.equal(chosen.length, 1, 'Enter selects the focused seat');
        assert.ok(seatIds.includes(chosen[0]!));

        await page.getByRole('button', { name: /list of available seats/i }).click();
        const boxes = page.getByRole('checkbox');
        assert.ok((await boxes.count()) > 0);
        const label = await boxes.nth(3).getAttribute('aria-label');
        assert.match(label ?? '', /row .* seat .*/i);
        await boxes.nth(3).check();
        assert.equal((await selectedSeats(page)).length, 2, 'the list and the map share one selection');
        await page.getByTestId('hold').click();
        await page.waitForURL(/\/reservations\//);
      },
    );
  });
});
