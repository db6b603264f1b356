// The waiting room page: a queued buyer sees the line move, keeps the place over a reload,
// is admitted by itself and lands on the seat map, where the admission lets them hold.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startBrowserRig, withScreenshots, type BrowserRig } from '../support/browser.ts';
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
});
