// Hold, countdown, pay, booking; and a hold that runs out on the countdown.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBrowserRig, withScreenshots, type BrowserRig } from '../support/browser.ts';
import { holdSeats, makeEvent, openSeatMap, waitForSeatStatus } from '../support/browser-pages.ts';
import { testDb } from '../support/harness.ts';

// The browser checks the web app, whatever the database under it: once, on PostgreSQL (the sign-in
// forms of demo mode and of an identity provider are in organizer.test.ts, which runs on both).
const postgresOnly = testDb !== 'postgres' && 'the browser checks the web app: runs once, in the PostgreSQL pass';

// One server for both tests: each is a person of its own (a new browser context).
describe('checkout and a stale sign-in in the browser', { skip: postgresOnly }, () => {
  let rig: BrowserRig;
  before(async () => {
    rig = await startBrowserRig();
  });
  after(async () => rig?.close());

  it('when a buyer holds seats and pays, then the countdown runs, the booking is confirmed and shows in My bookings', async () => {
    const { eventId, seatIds } = await makeEvent(rig);
    const { page } = await rig.personAs('carla');
    await withScreenshots(
      'checkout',
      () => [page],
      async () => {
        await openSeatMap(page, eventId);
        const reservationId = await holdSeats(page, [seatIds[0]!, seatIds[1]!]);
        const countdown = page.getByTestId('countdown');
        await countdown.waitFor();
        const first = await countdown.textContent();
        assert.match(first ?? '', /^(9|10):\d\d$/, `a 10-minute hold starts near 10:00, got ${first}`);
        await page.waitForFunction(
          (shown) => document.querySelector('[data-testid="countdown"]')?.textContent !== shown,
          first,
          { timeout: 3_000 },
        );

        // A declined card keeps the hold; the accepted one books it.
        await page.getByLabel(/declined/i).check();
        await page.getByTestId('pay').click();
        await page
          .getByRole('alert')
          .filter({ hasText: /declined/i })
          .first()
          .waitFor();
        await page.getByLabel(/accepted/i).check();
        await page.getByTestId('pay').click();
        const confirmation = page.getByTestId('booking-confirmation');
        await confirmation.waitFor();
        const reservation = await rig.apiAs<{ status: string; booking_id: string }>(
          'carla',
          'customer',
          'GET',
          `/v1/reservations/${reservationId}`,
        );
        assert.equal(reservation.status, 'confirmed');
        assert.ok((await confirmation.textContent())?.includes(reservation.booking_id));

        await page.getByRole('link', { name: 'My bookings' }).first().click();
        await page.waitForURL(/\/bookings$/);
        const card = page.locator(`[data-booking-id="${reservation.booking_id}"]`);
        await card.waitFor();
        assert.match((await card.textContent()) ?? '', /Front, row 1, seat 1/);
        assert.match((await card.textContent()) ?? '', /\$180\.00/);
      },
    );
  });

  it('when the service refuses the stored token (a demo server restarted), then the app asks to sign in again', async () => {
    const context = await rig.browser.newContext({ baseURL: rig.base });
    const page = await context.newPage();
    // A well-formed token signed with a secret this server never had.
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const stale = `${part({ alg: 'HS256', typ: 'JWT' })}.${part({ sub: 'ghost', role: 'customer', exp: Math.floor(Date.now() / 1000) + 3600 })}.${Buffer.from('not-the-signature').toString('base64url')}`;
    await context.addInitScript((token) => {
      if (!sessionStorage.getItem('seeded')) {
        localStorage.setItem('boxoffice.session', token);
        sessionStorage.setItem('seeded', '1');
      }
    }, stale);
    await withScreenshots(
      'stale-token',
      () => [page],
      async () => {
        await page.goto('/bookings');
        await page.waitForURL(/\/login\?next=%2Fbookings$/);
        await page.getByText('please sign in again').waitFor();
        assert.equal(await page.evaluate(() => localStorage.getItem('boxoffice.session')), null);
      },
    );
    await context.close();
  });
});

describe('a hold that runs out in the browser', { skip: postgresOnly }, () => {
  let rig: BrowserRig;
  before(async () => {
    rig = await startBrowserRig({ HOLD_TTL_SECONDS: '4', SWEEP_INTERVAL_MS: '100' });
  });
  after(async () => rig?.close());

  it('when the countdown ends, then the page says the seats were released and B sees the seat available again', async () => {
    const { eventId, seatIds } = await makeEvent(rig);
    const a = await rig.personAs('dora');
    const b = await rig.personAs('emil');
    await withScreenshots(
      'expiry',
      () => [a.page, b.page],
      async () => {
        await Promise.all([openSeatMap(a.page, eventId), openSeatMap(b.page, eventId)]);
        const seat = seatIds[7]!;
        await holdSeats(a.page, [seat]);
        await waitForSeatStatus(b.page, seat, 'held', 5_000);
        await a.page.getByTestId('hold-ended').waitFor({ timeout: 10_000 });
        assert.match((await a.page.getByTestId('hold-ended').textContent()) ?? '', /released/);
        assert.equal(await a.page.getByTestId('pay').isDisabled(), true);
        await waitForSeatStatus(b.page, seat, 'available', 5_000);
        // Released for real: B can hold it now.
        await holdSeats(b.page, [seat]);
        const seats = await rig.apiAs<{ seats: { seat_id: string; status: string }[] }>(
          'emil',
          'customer',
          'GET',
          `/v1/events/${eventId}/seats`,
        );
        assert.equal(seats.seats.find((entry) => entry.seat_id === seat)?.status, 'held');
      },
    );
  });
});
