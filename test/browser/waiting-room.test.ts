// The waiting room page: a queued buyer sees the line move, keeps the place over a reload,
// is admitted by itself and lands on the seat map, where the admission lets them hold.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { saveScreenshot, startBrowserRig, withScreenshots, type BrowserRig } from '../support/browser.ts';
import { holdSeats, makeEvent } from '../support/browser-pages.ts';
import { testDb } from '../support/harness.ts';

// The browser checks the web app (test/http/waiting-room.test.ts runs the room on both): once, on PostgreSQL.
const postgresOnly = testDb !== 'postgres' && 'the browser checks the web app: runs once, in the PostgreSQL pass';

describe('waiting room in the browser', { skip: postgresOnly }, () => {
  let rig: BrowserRig;
  before(async () => {
    rig = await startBrowserRig({ ADMIT_TICK_MS: '250', QUEUE_STREAM_INTERVAL_MS: '250' });
  });
  after(async () => rig?.close());

  it('when a queued buyer waits, then the page shows the place, survives a reload and lands on the seat map when admitted', async () => {
    const { eventId, seatIds } = await makeEvent(rig, {
      waiting_room: { enabled: true, admit_per_minute: 240, admission_window_seconds: 900 },
    });
    // 40 people arrive first: at 4 a second the buyer waits about 10 s.
    for (let index = 0; index < 40; index++) {
      await rig.apiAs(`early-${index}`, 'customer', 'POST', `/v1/events/${eventId}/queue`);
    }
    const { page } = await rig.personAs('quinn');
    await withScreenshots(
      'waiting-room',
      () => [page],
      async () => {
        await page.goto(`/events/${eventId}`);
        await page.waitForURL(new RegExp(`/events/${eventId}/queue$`));
        const position = page.getByTestId('queue-position');
        await page.waitForFunction(
          () =>
            /^\d+$/.test(
              document.querySelector('[data-testid="queue-position"]')?.textContent?.replace(/\D/g, '') ?? '',
            ),
          null,
          { timeout: 5_000 },
        );
        const placeBefore = Number((await position.textContent())!.replace(/\D/g, ''));
        assert.ok(placeBefore >= 1);
        const ahead = Number((await page.getByTestId('queue-ahead').textContent())!.replace(/\D/g, ''));
        assert.ok(ahead > 0, `people ahead at first: ${ahead}`);
        assert.match((await page.getByTestId('queue-wait').textContent()) ?? '', /minute|less/);

        await page.reload();
        assert.match(page.url(), /\/queue$/);
        await page.waitForFunction(
          () => /\d/.test(document.querySelector('[data-testid="queue-position"]')?.textContent ?? ''),
          null,
          { timeout: 5_000 },
        );
        const placeAfter = Number((await position.textContent())!.replace(/\D/g, ''));
        assert.ok(placeAfter <= placeBefore, `a reload keeps the place: ${placeBefore} then ${placeAfter}`);

        await page.waitForURL(new RegExp(`/events/${eventId}$`), { timeout: 20_000 });
        await page.waitForFunction(() =>
          Boolean(
            document.querySelector<HTMLElement & { seatMapTest?: unknown }>('[data-testid="seat-map"]')?.seatMapTest,
          ),
        );
        await holdSeats(page, [seatIds[2]!]);
        const reservationId = page.url().split('/').pop()!;
        const reservation = await rig.apiAs<{ status: string }>(
          'quinn',
          'customer',
          'GET',
          `/v1/reservations/${reservationId}`,
        );
        assert.equal(reservation.status, 'active');
      },
    );
  });

  it('when the last seat is bought while a buyer waits, then the page says sold out at once, and when a seat comes back the buyer goes in', async () => {
    const { eventId, seatIds } = await makeEvent(rig, {
      waiting_room: { enabled: true, admit_per_minute: 6000, max_active_shoppers: 1 },
      seat_map: { sections: [{ name: 'Front', price_tier: 'front', rows: [{ label: '1', seats: 1 }] }] },
    });
    // The one shopper the cap allows goes in first and takes the only seat.
    await rig.apiAs('sam', 'customer', 'POST', `/v1/events/${eventId}/queue`);
    let admission: { status: string; admission_token?: string } = { status: 'waiting' };
    for (let attempt = 0; attempt < 100 && admission.status !== 'admitted'; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      admission = await rig.apiAs('sam', 'customer', 'GET', `/v1/events/${eventId}/queue/me`);
    }
    assert.equal(admission.status, 'admitted');
    const tokenHeader = { 'x-admission-token': admission.admission_token! };
    const { page } = await rig.personAs('wren');
    await withScreenshots(
      'waiting-room-sold-out',
      () => [page],
      async () => {
        await page.goto(`/events/${eventId}/queue`);
        const headline = page.getByTestId('queue-status');
        await page.waitForFunction(
          () => document.querySelector<HTMLElement>('[data-testid="queue-status"]')?.dataset.state === 'moving',
        );
        assert.equal((await page.getByTestId('queue-position').textContent())?.trim(), '1', 'next in: place 1');

        const held = await rig.apiAs<{ reservation_id: string }>(
          'sam',
          'customer',
          'POST',
          `/v1/events/${eventId}/reservations`,
          { seat_ids: [seatIds[0]] },
          tokenHeader,
        );
        const booking = await rig.apiAs<{ booking_id: string }>(
          'sam',
          'customer',
          'POST',
          `/v1/reservations/${held.reservation_id}/confirm`,
          { payment_method: 'pm_card_visa' },
          { ...tokenHeader, 'idempotency-key': 'the-only-seat' },
        );
        await page.waitForFunction(
          () => document.querySelector<HTMLElement>('[data-testid="queue-status"]')?.dataset.state === 'sold-out',
          null,
          { timeout: 5_000 },
        );
        assert.match((await headline.textContent()) ?? '', /Sold out/);
        await saveScreenshot(page, 'waiting-room-sold-out');

        await rig.apiAs('olivia', 'organizer', 'POST', `/v1/bookings/${booking.booking_id}/refund`, {
          reason: 'returned to sale',
        });
        await page.waitForURL(new RegExp(`/events/${eventId}$`), { timeout: 10_000 });
      },
    );
  });

  it('when the organizer pauses, changes the rate and resumes from Your events, then the line follows at once', async () => {
    const { eventId } = await makeEvent(rig, {
      name: 'Pause Button Night',
      waiting_room: { enabled: true, admit_per_minute: 60 },
    });
    const { page } = await rig.personAs('olivia', 'organizer');
    await withScreenshots(
      'waiting-room-controls',
      () => [page],
      async () => {
        await page.goto('/organize');
        const item = page.getByTestId('my-events').locator(`li[data-event-id="${eventId}"]`);
        await item.getByText('Waiting room', { exact: true }).click();
        const controls = item.getByTestId('waiting-room-controls');
        await controls.getByTestId('waiting-room-toggle').click();
        await controls.getByText('Admission paused.').waitFor();
        await controls.getByText('Admission is paused').waitFor();
        const settings = async () =>
          (
            await rig.apiAs<{ waiting_room: { paused: boolean; admit_per_minute: number } }>(
              'olivia',
              'organizer',
              'GET',
              `/v1/events/${eventId}`,
            )
          ).waiting_room;
        assert.equal((await settings()).paused, true);
        const queued = await rig.apiAs<{ paused: boolean; estimated_wait_seconds: number | null }>(
          'pat',
          'customer',
          'POST',
          `/v1/events/${eventId}/queue`,
        );
        assert.deepEqual({ paused: queued.paused, wait: queued.estimated_wait_seconds }, { paused: true, wait: null });

        await controls.getByTestId('waiting-room-rate').fill('1200');
        await controls.getByRole('button', { name: 'Set rate' }).click();
        await controls.getByText('Now admitting 1,200 a minute.').waitFor();
        await saveScreenshot(page, 'waiting-room-controls');
        await controls.getByTestId('waiting-room-toggle').click();
        await controls.getByText('Admission resumed.').waitFor();
        const resumed = await settings();
        assert.deepEqual({ paused: resumed.paused, rate: resumed.admit_per_minute }, { paused: false, rate: 1200 });
        // Running again: the buyer in line goes in at the new rate.
        let state = '';
        for (let attempt = 0; attempt < 50 && state !== 'admitted'; attempt += 1) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          state = (await rig.apiAs<{ status: string }>('pat', 'customer', 'GET', `/v1/events/${eventId}/queue/me`))
            .status;
        }
        assert.equal(state, 'admitted');
      },
    );
  });
});
