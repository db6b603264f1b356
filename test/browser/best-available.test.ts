// Best available, accessible seating and organizer blocks in the browser: the buyer's panel
// chooses and holds seats (drawn as the buyer's, then paid at checkout); wheelchair spaces
// and companion seats are marked on the map and in the list, and offered only when asked
// for; a request that cannot be met says what to try; and seats an organizer blocks on
// the map turn "not for sale" on a buyer's open map, and back when released.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { saveScreenshot, startBrowserRig, withScreenshots, type BrowserRig } from '../support/browser.ts';
import {
  clickSeat,
  makeEvent,
  openSeatMap,
  seatStatus,
  selectedSeats,
  waitForSeatStatus,
  watchViolations,
} from '../support/browser-pages.ts';
import { testDb } from '../support/harness.ts';

// The browser checks the web app (test/http/best-available.test.ts runs the API on both): once, on PostgreSQL.
const postgresOnly = testDb !== 'postgres' && 'the browser checks the web app: runs once, in the PostgreSQL pass';

/**
 * Front row 1 (seats 0–9): companion seats 3 and 6, wheelchair spaces 4 and 5 (ids 2–5);
 * Front rows 2–3 (10–29); Back rows 1–4 of 14 (30–85).
 */
const venue = {
  name: 'Best Seats Evening',
  max_seats_per_user: 6,
  price_tiers: [
    { id: 'front', name: 'Front', price_cents: 9000, currency: 'USD' },
    { id: 'back', name: 'Back', price_cents: 4000, currency: 'USD' },
  ],
  seat_map: {
    sections: [
      {
        name: 'Front',
        price_tier: 'front',
        rows: [
          { label: '1', seats: 10, accessible: [4, 5], companion: [3, 6] },
          { label: '2', seats: 10 },
          { label: '3', seats: 10 },
        ],
      },
      { name: 'Back', price_tier: 'back', rows: [1, 2, 3, 4].map((row) => ({ label: String(row), seats: 14 })) },
    ],
  },
};
const accessibleIndexes = [2, 3, 4, 5];

interface Held {
  reservation_id: string;
  seats: { seat_id: string }[];
}

/** Asks the panel for seats and waits for the service's answer. */
async function findSeats(
  page: Page,
  request: { count: number; tier?: string; accessible?: boolean; together?: boolean },
): Promise<{ status: number; body: Held | { code: string } }> {
  await page.getByTestId('best-count').selectOption(String(request.count));
  await page.getByTestId('best-tier').selectOption(request.tier ?? '');
  const accessible = page.getByTestId('best-accessible');
  if (request.accessible !== undefined) await accessible.setChecked(request.accessible);
  await page.getByTestId('best-together').setChecked(request.together ?? true);
  const answered = page.waitForResponse(
    (response) => response.url().endsWith('/reservations') && response.request().method() === 'POST',
  );
  await page.getByTestId('find-seats').click();
  const response = await answered;
  return { status: response.status(), body: (await response.json()) as Held | { code: string } };
}

/**
 * Pixels of one colour (within tolerance per channel) in the square reach × 2 seat widths
 * across, centred on the seat, after zooming so seats are at least 24 CSS pixels wide.
 */
async function pixelsOfColor(page: Page, seatId: string, hex: string, reach: number, tolerance: number) {
  return page.evaluate(
    ([id, color, within, near]) => {
      interface Hooks {
        reveal(seatId: string): void;
        seatCenter(seatId: string): { x: number; y: number } | null;
        stats(): { seatPixels: number };
      }
      const host = document.querySelector('[data-testid="seat-map"]') as unknown as HTMLElement & {
        seatMapTest: Hooks;
      };
      host.seatMapTest.reveal(id);
      const canvas = host.querySelector('canvas')!;
      const center = host.seatMapTest.seatCenter(id)!;
      const box = canvas.getBoundingClientRect();
      const ratio = canvas.width / box.width;
      const half = Math.ceil(host.seatMapTest.stats().seatPixels * ratio * within);
      const x = Math.round((center.x - box.left) * ratio) - half;
      const y = Math.round((center.y - box.top) * ratio) - half;
      const data = canvas.getContext('2d')!.getImageData(x, y, half * 2, half * 2).data;
      const value = Number.parseInt(color.slice(1), 16);
      const wanted = [(value >> 16) & 255, (value >> 8) & 255, value & 255];
      let count = 0;
      for (let index = 0; index < data.length; index += 4) {
        if (wanted.every((channel, offset) => Math.abs(data[index + offset]! - channel) <= near)) count += 1;
      }
      return count;
    },
    [seatId, hex, reach, tolerance] as const,
  );
}

const colorAt = (page: Page, seatId: string) =>
  page.evaluate(
    (id) =>
      (
        document.querySelector('[data-testid="seat-map"]') as unknown as {
          seatMapTest: { colorAt(seatId: string): string | null };
        }
      ).seatMapTest.colorAt(id),
    seatId,
  );

/** The palette's colours (web/src/seat-map/palette.ts). */
const colors = { own: '#111827', accessible: '#1f5fbf', blocked: '#e1e3e8', blockedMark: '#6b7280' };

describe('best available and organizer blocks in the browser', { skip: postgresOnly }, () => {
  let rig: BrowserRig;
  before(async () => {
    rig = await startBrowserRig();
  });
  after(async () => rig?.close());

  it('when a buyer asks for the best 3 Front seats, then they are held, drawn as theirs, summed up, and paid at checkout', async () => {
    const { eventId, seatIds } = await makeEvent(rig, venue);
    const { page } = await rig.personAs('bess');
    const violations = await watchViolations(page);
    await withScreenshots(
      'best-available-checkout',
      () => [page],
      async () => {
        await openSeatMap(page, eventId);
        await saveScreenshot(page, 'best-available-panel');
        // A seat picked by hand is let go: the service chooses.
        await clickSeat(page, seatIds[40]!);
        const answer = await findSeats(page, { count: 3, tier: 'front' });
        assert.equal(answer.status, 201, JSON.stringify(answer.body));
        const held = answer.body as Held;
        const chosen = held.seats.map((seat) => seat.seat_id);
        assert.equal(chosen.length, 3);
        assert.deepEqual(await selectedSeats(page), []);
        for (const seatId of chosen) {
          const index = seatIds.indexOf(seatId);
          assert.ok(index >= 0 && index < 30, `${seatId} is a Front seat`);
          assert.ok(!accessibleIndexes.includes(index), `${seatId} is not kept for accessible requests`);
        }

        const summary = page.getByTestId('best-held');
        await summary.waitFor();
        assert.match((await summary.textContent()) ?? '', /Front, row \d+, seats \d+–\d+/);
        assert.equal(await page.getByTestId('best-total').textContent(), '3 seats · $270.00');
        for (const seatId of chosen) {
          await waitForSeatStatus(page, seatId, 'held', 5_000);
          assert.equal(await colorAt(page, seatId), colors.own, `${seatId} is drawn as the buyer's`);
        }
        await saveScreenshot(page, 'best-available-held');

        await page.getByTestId('best-checkout').click();
        await page.waitForURL(new RegExp(`/reservations/${held.reservation_id}$`));
        await page.getByLabel(/accepted/i).check();
        await page.getByTestId('pay').click();
        await page.getByTestId('booking-confirmation').waitFor();
        const reservation = await rig.apiAs<{ status: string; seats: { seat_id: string }[] }>(
          'bess',
          'customer',
          'GET',
          `/v1/reservations/${held.reservation_id}`,
        );
        assert.equal(reservation.status, 'confirmed');
        assert.deepEqual(reservation.seats.map((seat) => seat.seat_id).sort(), [...chosen].sort());
        assert.deepEqual(await violations(), [], 'the Content-Security-Policy refused nothing');
      },
    );
  });

  it('when seats are wheelchair spaces or companion seats, then map and list mark them, and only a ticked request gets them', async () => {
    const { eventId, seatIds } = await makeEvent(rig, venue);
    const { page } = await rig.personAs('ada');
    await withScreenshots(
      'best-available-accessible',
      () => [page],
      async () => {
        await openSeatMap(page, eventId);
        const legend = page.getByRole('list', { name: 'Other colors and marks on the map' });
        for (const entry of ['Wheelchair space', 'Companion seat', 'Not for sale', 'Held for you']) {
          await legend.getByText(entry).waitFor();
        }
        // On the map: a badge and outline in the access blue on each of them, none on a seat two rows back.
        for (const index of accessibleIndexes) {
          const blue = await pixelsOfColor(page, seatIds[index]!, colors.accessible, 0.6, 6);
          assert.ok(blue >= 20, `seat ${index} is marked (${blue} pixels)`);
        }
        assert.equal(await pixelsOfColor(page, seatIds[24]!, colors.accessible, 0.45, 6), 0, 'a plain seat is not');
        const wheelchair = await page.evaluate(
          (id) =>
            (
              document.querySelector('[data-testid="seat-map"]') as unknown as {
                seatMapTest: { seatCenter(seatId: string): { x: number; y: number } };
              }
            ).seatMapTest.seatCenter(id),
          seatIds[3]!,
        );
        await page.mouse.move(wheelchair.x, wheelchair.y);
        await page
          .getByRole('tooltip')
          .getByText(/seat 4, wheelchair space/)
          .waitFor();
        await saveScreenshot(page, 'best-available-accessible-map');
        for (let step = 0; step < 2; step += 1) await page.getByRole('button', { name: 'Zoom in' }).click();
        await saveScreenshot(page, 'best-available-accessible-zoomed');

        // In the list: said in words.
        await page.getByRole('button', { name: /list of available seats/i }).click();
        const rows = page.locator('.seat-list tbody tr');
        assert.match((await rows.nth(2).textContent()) ?? '', /3 \(companion seat\)/);
        assert.match((await rows.nth(3).textContent()) ?? '', /4 \(wheelchair space\)/);
        assert.match((await rows.nth(3).getByRole('checkbox').getAttribute('aria-label')) ?? '', /wheelchair space/);
        await page.getByLabel('Wheelchair spaces and companion seats only').check();
        await page.getByText('4 available seats match').waitFor();
        await saveScreenshot(page, 'best-available-accessible-list');
        await page.getByRole('button', { name: 'Show the seat map' }).click();

        // Without the box ticked, the best row's kept seats are passed over.
        const plain = await findSeats(page, { count: 2, accessible: false });
        assert.equal(plain.status, 201);
        for (const seat of (plain.body as Held).seats) {
          assert.ok(!accessibleIndexes.includes(seatIds.indexOf(seat.seat_id)), `${seat.seat_id} was not asked for`);
        }
        await page.getByTestId('best-release').click();
        await page.getByTestId('find-seats').waitFor();
        const [released] = (plain.body as Held).seats;
        await waitForSeatStatus(page, released!.seat_id, 'available', 5_000);
        assert.equal(await page.getByTestId('best-message').textContent(), '', 'letting go is not news');

        const ticked = await findSeats(page, { count: 2, accessible: true });
        assert.equal(ticked.status, 201);
        for (const seat of (ticked.body as Held).seats) {
          assert.ok(accessibleIndexes.includes(seatIds.indexOf(seat.seat_id)), `${seat.seat_id} is kept for access`);
        }
      },
    );
  });

  it('when no seats fit the request, then the panel says why and what to try, and the suggestion works', async () => {
    const { eventId, seatIds } = await makeEvent(rig, venue);
    // Someone holds the middle of Front rows 2 and 3: no 6 Front seats are side by side.
    await rig.apiAs('early', 'customer', 'POST', `/v1/events/${eventId}/reservations`, {
      seat_ids: [seatIds[14]!, seatIds[24]!],
    });
    const { page } = await rig.personAs('nora');
    await withScreenshots(
      'best-available-not-enough',
      () => [page],
      async () => {
        await openSeatMap(page, eventId);
        const accessible = await findSeats(page, { count: 6, accessible: true });
        assert.equal(accessible.status, 409);
        assert.equal((accessible.body as { code: string }).code, 'NOT_ENOUGH_SEATS');
        const message = page.getByTestId('best-message');
        await message.getByText('Only 4 wheelchair spaces or companion seats are free right now.').waitFor();
        await message.getByText('Ask for 4 seats.').waitFor();

        const together = await findSeats(page, { count: 6, tier: 'front', accessible: false });
        assert.equal(together.status, 409);
        await message.getByText('There are no 6 seats side by side at Front right now.').waitFor();
        await message.getByText('Untick “Seats together” to get the best seats apart.').waitFor();
        await message.getByText('Choose another price, or “Any price”.').waitFor();
        await saveScreenshot(page, 'best-available-not-enough');

        const apart = await findSeats(page, { count: 6, tier: 'front', accessible: false, together: false });
        assert.equal(apart.status, 201);
        const held = apart.body as Held;
        assert.equal(held.seats.length, 6);
        assert.equal(await message.textContent(), '');

        // Let go elsewhere (another tab; or run out): the panel says so and the ticks go.
        await page.getByTestId('best-held').waitFor();
        for (const seat of held.seats) await waitForSeatStatus(page, seat.seat_id, 'held', 5_000);
        await rig.apiAs('nora', 'customer', 'DELETE', `/v1/reservations/${held.reservation_id}`);
        await message.getByText('Your hold on those seats has ended').waitFor();
        assert.equal(await page.getByTestId('best-held').count(), 0);
        await page.getByTestId('find-seats').waitFor();
        assert.notEqual(await colorAt(page, held.seats[0]!.seat_id), colors.own);
      },
    );
  });

  it('when the organizer blocks seats on the map, then a buyer sees them not for sale at once, and on sale again when released', async () => {
    const { eventId, seatIds } = await makeEvent(rig, venue);
    const organizer = await rig.personAs('olivia', 'organizer');
    const buyer = await rig.personAs('bram');
    const page = organizer.page;
    const violations = await watchViolations(page);
    const blocked = [seatIds[32]!, seatIds[33]!, seatIds[34]!];
    await withScreenshots(
      'best-available-blocks',
      () => [page, buyer.page],
      async () => {
        await openSeatMap(buyer.page, eventId);
        await page.goto('/organize');
        await page.locator(`li[data-event-id="${eventId}"]`).getByTestId('block-seats-link').click();
        await page.waitForURL(new RegExp(`/organize/events/${eventId}/blocks$`));
        await page.getByTestId('live-status').getByText('live').waitFor();
        await page.getByTestId('seat-blocks-status').getByText('No seats are blocked').waitFor();

        for (const seatId of blocked) await clickSeat(page, seatId);
        await page.getByTestId('block-selection').getByText('Back, row 1, seats 3–5').waitFor();
        assert.equal(await page.getByTestId('block-seats').isDisabled(), true, 'a block needs a label');
        await page.getByLabel('Label', { exact: true }).fill('Press');
        await page.getByTestId('block-seats').click();
        await page.getByTestId('block-outcome').getByText('Blocked 3 seats for “Press”.').waitFor();
        const entry = page.getByTestId('seat-blocks').locator('li.seat-block');
        await entry.getByTestId('block-label').getByText('Press').waitFor();
        assert.equal(await entry.getByTestId('block-seat-count').textContent(), '3 seats');

        // The buyer's open map: not for sale, pale and crossed out, and not selectable.
        for (const seatId of blocked) await waitForSeatStatus(buyer.page, seatId, 'blocked', 5_000);
        assert.equal(await colorAt(buyer.page, blocked[1]!), colors.blocked);
        assert.ok((await pixelsOfColor(buyer.page, blocked[1]!, colors.blockedMark, 0.3, 40)) >= 8, 'crossed out');
        await clickSeat(buyer.page, blocked[1]!);
        assert.deepEqual(await selectedSeats(buyer.page), []);
        await saveScreenshot(buyer.page, 'best-available-buyer-sees-blocked');
        await saveScreenshot(page, 'best-available-organizer-blocks');
        await page.setViewportSize({ width: 390, height: 844 });
        assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 390, 'no sideways scrolling');
        await saveScreenshot(page, 'best-available-organizer-blocks-phone');
        await page.setViewportSize({ width: 1280, height: 900 });

        // A chosen seat that a buyer holds meanwhile leaves the organizer's choice.
        const held = seatIds[40]!;
        await clickSeat(page, held);
        await rig.apiAs('bram', 'customer', 'POST', `/v1/events/${eventId}/reservations`, { seat_ids: [held] });
        await waitForSeatStatus(page, held, 'held', 5_000);
        assert.deepEqual(await selectedSeats(page), [], 'the held seat left the choice');

        await entry.getByTestId('release-block').click();
        await page.getByTestId('block-outcome').getByText('Released “Press”: 3 seats are on sale again.').waitFor();
        await page.getByTestId('seat-blocks-status').getByText('No seats are blocked').waitFor();
        for (const seatId of blocked) await waitForSeatStatus(buyer.page, seatId, 'available', 5_000);
        await clickSeat(buyer.page, blocked[1]!);
        assert.deepEqual(await selectedSeats(buyer.page), [blocked[1]!]);
        assert.equal(await seatStatus(buyer.page, blocked[0]!), 'available');
        assert.deepEqual(await violations(), [], 'the Content-Security-Policy refused nothing');
      },
    );
  });

  it('when the event has a waiting room, then the panel sends the admission like Hold does', async () => {
    const { eventId } = await makeEvent(rig, {
      ...venue,
      waiting_room: { enabled: true, admit_per_minute: 6000, admission_window_seconds: 900 },
    });
    const { page } = await rig.personAs('wyn');
    await withScreenshots(
      'best-available-waiting-room',
      () => [page],
      async () => {
        await page.goto(`/events/${eventId}`);
        await page.waitForURL(new RegExp(`/events/${eventId}/queue$`));
        // Admitted (the line is empty): back on the event page.
        await page.waitForURL(new RegExp(`/events/${eventId}$`), { timeout: 20_000 });
        await page.getByTestId('live-status').getByText('live').waitFor();
        const sent = page.waitForRequest(
          (request) => request.url().endsWith('/reservations') && request.method() === 'POST',
        );
        const answer = await findSeats(page, { count: 2, tier: 'back' });
        assert.ok((await sent).headers()['x-admission-token'], 'the admission token is sent');
        assert.equal(answer.status, 201, JSON.stringify(answer.body));
        await page.getByTestId('best-held').waitFor();
      },
    );
  });

  it('when the page is on a phone, then the panel comes first and fits the screen', async () => {
    const { eventId } = await makeEvent(rig, venue);
    const { page } = await rig.personAs('pia');
    await page.setViewportSize({ width: 390, height: 844 });
    await withScreenshots(
      'best-available-phone',
      () => [page],
      async () => {
        await openSeatMap(page, eventId);
        const panel = await page.getByTestId('best-available').boundingBox();
        const map = await page.getByTestId('seat-map').boundingBox();
        assert.ok(panel && map && panel.y < map.y, 'the panel is above the map');
        assert.ok(panel.x >= 0 && panel.x + panel.width <= 390, `the panel fits: ${JSON.stringify(panel)}`);
        assert.equal(await page.evaluate(() => document.documentElement.scrollWidth), 390, 'no sideways scrolling');
        await saveScreenshot(page, 'best-available-phone');
        const answer = await findSeats(page, { count: 2 });
        assert.equal(answer.status, 201);
        await page.getByTestId('best-held').waitFor();
        await saveScreenshot(page, 'best-available-phone-held');
      },
    );
  });
});
