// Tickets in the browser, on a phone-sized screen: a buyer pays for seats and finds their
// tickets in My bookings (a QR code each, drawn inline, that reads back as the ticket's
// code; a refunded seat's ticket marked revoked; the PDF downloaded); the organizer opens
// the door scanner from their events and checks the ticket in from its typed code: a big
// green "Admitted", then a red "Already checked in at …" for the second scan, a red
// "Revoked" for the refunded seat and "Invalid ticket" for a made-up code. A ticket held to
// chromium's fake camera is read (jsQR: chromium on Linux has no BarcodeDetector) and
// admitted once. Door staff sign in naming their event and may scan it, and no other.
// Screenshots for a person to look at go to /tmp (TICKETS_SCREENSHOT_DIR), not the repo.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import jsqr from 'jsqr';
import { chromium, type Locator, type Page } from 'playwright-core';
import QRCode from 'qrcode';
import { chromiumPath, startBrowserRig, withScreenshots, type BrowserRig } from '../support/browser.ts';
import { holdSeats, makeEvent, openSeatMap, staffToken, watchViolations } from '../support/browser-pages.ts';
import { testDb } from '../support/harness.ts';

// jsqr is CommonJS typed as an ES module: under NodeNext its function is the `default` property.
const jsQR = jsqr.default;
const phone = { width: 390, height: 844 };
const screenshotDir = process.env.TICKETS_SCREENSHOT_DIR ?? '/tmp/boxoffice-tickets';

async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(screenshotDir, { recursive: true });
  await page.screenshot({ path: path.join(screenshotDir, `${testDb}-${name}.png`), fullPage: true });
}

interface TicketsDocument {
  tickets: { ticket_id: string; seat_id: string; status: string; code: string }[];
}

/** What the QR code drawn in `qr` (an inline <svg>) says, read by jsQR from its pixels. */
async function readQr(qr: Locator): Promise<string | null> {
  const frame = await qr.evaluate(async (svg) => {
    const side = 400;
    const image = new Image();
    image.src = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(new XMLSerializer().serializeToString(svg))}`;
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = canvas.height = side;
    const context = canvas.getContext('2d')!;
    context.fillStyle = '#fff';
    context.fillRect(0, 0, side, side);
    context.drawImage(image, 0, 0, side, side);
    return { side, pixels: Array.from(context.getImageData(0, 0, side, side).data) };
  });
  return jsQR(Uint8ClampedArray.from(frame.pixels), frame.side, frame.side)?.data ?? null;
}

/** Types a code into the scanner and waits for the answer; returns its result. */
async function checkInTyped(page: Page, code: string): Promise<string> {
  const answer = page.getByTestId('scan-answer');
  const scansBefore = await page.getByTestId('scan-log').locator('li').count();
  await page.getByTestId('scan-code').fill(code);
  await page.getByTestId('scan-submit').click();
  await page.getByTestId('scan-log').locator('li').nth(scansBefore).waitFor();
  return (await answer.getAttribute('data-result'))!;
}

/**
 * A video file for chromium's fake camera (--use-file-for-fake-video-capture): one Y4M frame,
 * 640x480, grey, with the QR code of `text` in the middle; chromium plays it in a loop.
 */
async function qrVideo(text: string, file: string): Promise<void> {
  const width = 640;
  const height = 480;
  const modulePixels = 8;
  const quietModules = 4;
  const { modules } = QRCode.create(text, { errorCorrectionLevel: 'M' });
  const side = (modules.size + 2 * quietModules) * modulePixels;
  const left = (width - side) / 2;
  const top = (height - side) / 2;
  const luma = Buffer.alloc(width * height, 120);
  for (let y = 0; y < side; y += 1) {
    for (let x = 0; x < side; x += 1) {
      const row = Math.floor(y / modulePixels) - quietModules;
      const column = Math.floor(x / modulePixels) - quietModules;
      const inCode = row >= 0 && column >= 0 && row < modules.size && column < modules.size;
      luma[(top + y) * width + left + x] = inCode && modules.get(row, column) ? 16 : 235;
    }
  }
  const chroma = Buffer.alloc((width / 2) * (height / 2) * 2, 128);
  const header = `YUV4MPEG2 W${width} H${height} F10:1 Ip A1:1 C420jpeg\nFRAME\n`;
  await writeFile(file, Buffer.concat([Buffer.from(header, 'latin1'), luma, chroma]));
}

const backgroundOf = (locator: Locator) => locator.evaluate((element) => getComputedStyle(element).backgroundColor);

// The browser checks the web app, whatever the database under it: once, on PostgreSQL (as the
// other browser files do), except door staff signing in, below.
const postgresOnly = testDb !== 'postgres' && 'the browser checks the web app: runs once, in the PostgreSQL pass';

describe('tickets and the door scanner in the browser', { skip: postgresOnly }, () => {
  let rig: BrowserRig;
  before(async () => {
    rig = await startBrowserRig();
  });
  after(async () => rig?.close());

  it('when a buyer pays, then My bookings shows QR tickets, and the organizer scanning one sees Admitted, then Already checked in', async () => {
    const { eventId, seatIds } = await makeEvent(rig, { name: 'Ticket Night' });
    const buyer = await rig.personAs('tilda');
    const organizer = await rig.personAs('olivia', 'organizer');
    const buyerViolations = await watchViolations(buyer.page);
    const organizerViolations = await watchViolations(organizer.page);
    await withScreenshots(
      'tickets',
      () => [buyer.page, organizer.page],
      async () => {
        // The buyer pays for two seats in the browser.
        const page = buyer.page;
        await openSeatMap(page, eventId);
        const reservationId = await holdSeats(page, [seatIds[0]!, seatIds[1]!]);
        await page.getByTestId('countdown').waitFor();
        await page.getByLabel(/accepted/i).check();
        await page.getByTestId('pay').click();
        await page.getByTestId('booking-confirmation').waitFor();
        const { booking_id: bookingId } = await rig.apiAs<{ booking_id: string }>(
          'tilda',
          'customer',
          'GET',
          `/v1/reservations/${reservationId}`,
        );
        // The organizer refunds the second seat: its ticket is revoked.
        await rig.apiAs('olivia', 'organizer', 'POST', `/v1/bookings/${bookingId}/refund`, {
          reason: 'Seat broken',
          seat_ids: [seatIds[1]!],
        });
        const ticketsPath = `/v1/bookings/${bookingId}/tickets`;
        let tickets = await rig.apiAs<TicketsDocument>('tilda', 'customer', 'GET', ticketsPath);
        const ticketOf = (seatId: string) => tickets.tickets.find((ticket) => ticket.seat_id === seatId)!;
        for (let attempt = 0; ticketOf(seatIds[1]!).status !== 'revoked' && attempt < 100; attempt += 1) {
          await new Promise((resolve) => setTimeout(resolve, 100));
          tickets = await rig.apiAs<TicketsDocument>('tilda', 'customer', 'GET', ticketsPath);
        }
        const valid = ticketOf(seatIds[0]!);
        const revoked = ticketOf(seatIds[1]!);
        assert.equal(valid.status, 'valid');
        assert.equal(revoked.status, 'revoked', 'the refunded seat’s ticket is revoked');

        // My bookings on a phone: the valid ticket's QR code, inline, says its code.
        await page.setViewportSize(phone);
        await page.getByRole('link', { name: 'My bookings' }).first().click();
        await page.waitForURL(/\/bookings$/);
        const card = page.locator(`[data-booking-id="${bookingId}"]`);
        const validTicket = card.locator(`[data-ticket-id="${valid.ticket_id}"]`);
        const qr = validTicket.locator('.ticket-qr svg');
        await qr.waitFor();
        assert.equal(await validTicket.getAttribute('data-status'), 'valid');
        assert.equal(await validTicket.getByTestId('ticket-seat').textContent(), 'Front, row 1, seat 1');
        assert.equal(await validTicket.getByTestId('ticket-status').textContent(), 'Valid');
        const qrBox = (await qr.boundingBox())!;
        assert.ok(qrBox.width >= 250, `the QR code is large enough to scan on a phone (${qrBox.width}px)`);
        assert.ok(qrBox.x >= 0 && qrBox.x + qrBox.width <= phone.width, 'the QR code fits the phone’s width');
        assert.equal(await readQr(qr), valid.code, 'the QR code drawn says the ticket’s code');
        const revokedTicket = card.locator(`[data-ticket-id="${revoked.ticket_id}"]`);
        assert.equal(await revokedTicket.getAttribute('data-status'), 'revoked');
        assert.equal(await revokedTicket.locator('svg').count(), 0, 'no QR code for a refunded seat');
        assert.match((await revokedTicket.getByTestId('ticket-status').textContent()) ?? '', /Revoked/);
        assert.equal(
          await page.evaluate(() => document.documentElement.scrollWidth),
          phone.width,
          'nothing wider than the phone',
        );
        await screenshot(page, 'my-bookings-tickets');

        // The PDF: fetched with the token, saved from a blob URL.
        const [download] = await Promise.all([
          page.waitForEvent('download'),
          card.getByTestId('download-tickets').click(),
        ]);
        assert.equal(download.suggestedFilename(), `tickets-${bookingId}.pdf`);
        const pdf = await readFile((await download.path())!);
        assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');

        // The organizer finds the event under Scan tickets, and the scanner on the event, on a phone.
        const door = organizer.page;
        await door.setViewportSize(phone);
        await door.goto('/scan');
        await door.getByTestId('scan-events').locator(`[data-event-id="${eventId}"]`).waitFor();
        await screenshot(door, 'scanner-choose-event');
        await door.goto('/organize');
        await door.locator(`[data-event-id="${eventId}"]`).getByTestId('scan-event-link').click();
        await door.waitForURL(new RegExp(`/scan/${eventId}$`));
        await door.getByTestId('scan-event').filter({ hasText: 'Ticket Night' }).waitFor();
        // No camera in a headless browser: the typed path, with the reason.
        await door.locator('[data-testid="camera-status"][data-state="failed"]').waitFor();
        assert.match((await door.getByTestId('camera-status').textContent()) ?? '', /type/i);

        const code = (await validTicket.getByTestId('ticket-code').textContent())!;
        assert.equal(code, valid.code, 'the page shows the ticket’s code');
        assert.equal(await checkInTyped(door, code), 'admitted');
        const answer = door.getByTestId('scan-answer');
        assert.equal(await answer.getByTestId('scan-headline').textContent(), 'Admitted');
        assert.match((await answer.textContent()) ?? '', /Front, row 1, seat 1/);
        assert.equal(await backgroundOf(answer), 'rgb(30, 123, 52)', 'green');
        await screenshot(door, 'scanner-admitted');

        assert.equal(await checkInTyped(door, code), 'already_checked_in');
        assert.match(
          (await answer.getByTestId('scan-headline').textContent()) ?? '',
          /^Already checked in at \d{1,2}:\d\d/,
        );
        assert.match((await answer.textContent()) ?? '', /Front, row 1, seat 1/);
        assert.equal(await backgroundOf(answer), 'rgb(179, 38, 30)', 'red');
        await screenshot(door, 'scanner-already-checked-in');

        assert.equal(await checkInTyped(door, revoked.code), 'revoked');
        assert.equal(await answer.getByTestId('scan-headline').textContent(), 'Revoked');
        assert.equal(await checkInTyped(door, `BX1.k.${randomUUID()}.forged`), 'invalid');
        assert.equal(await answer.getByTestId('scan-headline').textContent(), 'Invalid ticket');
        assert.equal(await backgroundOf(answer), 'rgb(179, 38, 30)', 'red');
        assert.equal(await door.getByTestId('scan-log').locator('li').count(), 4);
        await screenshot(door, 'scanner-invalid');

        // The buyer's ticket now shows it was used.
        await page.reload();
        await validTicket.locator('.ticket-qr svg').waitFor();
        assert.equal(await validTicket.getAttribute('data-status'), 'checked_in');
        assert.equal(await validTicket.getByTestId('ticket-status').textContent(), 'Checked in');

        assert.deepEqual(await buyerViolations(), [], 'the Content-Security-Policy refused nothing (buyer)');
        assert.deepEqual(await organizerViolations(), [], 'the Content-Security-Policy refused nothing (organizer)');
      },
    );
  });

  it('when a ticket is held to the camera, then it is admitted once, not again while it stays in view', async () => {
    const { eventId, seatIds } = await makeEvent(rig, { name: 'Camera Night' });
    const { reservation_id: reservationId } = await rig.apiAs<{ reservation_id: string }>(
      'tomas',
      'customer',
      'POST',
      `/v1/events/${eventId}/reservations`,
      { seat_ids: [seatIds[3]!] },
    );
    const { booking_id: bookingId } = await rig.apiAs<{ booking_id: string }>(
      'tomas',
      'customer',
      'POST',
      `/v1/reservations/${reservationId}/confirm`,
      { payment_method: 'pm_card_visa' },
      { 'idempotency-key': randomUUID() },
    );
    const {
      tickets: [ticket],
    } = await rig.apiAs<TicketsDocument>('tomas', 'customer', 'GET', `/v1/bookings/${bookingId}/tickets`);
    const videoDir = await mkdtemp(path.join(tmpdir(), 'boxoffice-camera-'));
    const video = path.join(videoDir, 'ticket.y4m');
    await qrVideo(ticket!.code, video);
    // A browser of its own: the camera is chromium's fake device, playing the ticket's QR code.
    const browser = await chromium.launch({
      executablePath: chromiumPath,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
        `--use-file-for-fake-video-capture=${video}`,
      ],
    });
    try {
      const context = await browser.newContext({ baseURL: rig.base, viewport: phone, permissions: ['camera'] });
      await context.addInitScript(
        (token) => localStorage.setItem('boxoffice.session', token),
        await staffToken(rig, 'sofia', [eventId]),
      );
      const page = await context.newPage();
      await withScreenshots(
        'tickets-camera',
        () => [page],
        async () => {
          await page.goto(`/scan/${eventId}`);
          await page.locator('[data-testid="camera-status"][data-state="on"]').waitFor();
          const answer = page.getByTestId('scan-answer');
          await page.locator('[data-testid="scan-answer"][data-result="admitted"]').waitFor({ timeout: 15_000 });
          assert.match((await answer.textContent()) ?? '', /Front, row 1, seat 4/);
          await screenshot(page, 'scanner-camera-admitted');
          // The code stays in front of the camera: the same scan, not a second one.
          await page.waitForTimeout(1_500);
          assert.equal(await answer.getAttribute('data-result'), 'admitted');
          assert.equal(await page.getByTestId('scan-log').locator('li').count(), 1);
        },
      );
    } finally {
      await browser.close();
      await rm(videoDir, { recursive: true, force: true });
    }
  });

  it('when a buyer opens the scanner, then it says who may scan and checks nothing in', async () => {
    const { page } = await rig.personAs('tilda');
    await page.setViewportSize(phone);
    await page.goto('/scan');
    await page.getByTestId('scanner-only').waitFor();
    assert.equal(await page.getByTestId('scan-answer').count(), 0);
  });
});

// On both databases, as organizer.test.ts: each pass signs in its own way (the demo login's
// door-staff choice on PGlite, a pasted identity-provider token on PostgreSQL).
describe('door staff at the scanner in the browser', () => {
  let rig: BrowserRig;
  before(async () => {
    rig = await startBrowserRig();
  });
  after(async () => rig?.close());

  it('when door staff sign in for an event, then they scan its tickets and no other event’s', async () => {
    const { eventId, seatIds } = await makeEvent(rig, { name: 'Staff Night' });
    const other = await makeEvent(rig, { name: 'Other Night' });
    const { reservation_id: reservationId } = await rig.apiAs<{ reservation_id: string }>(
      'tomas',
      'customer',
      'POST',
      `/v1/events/${eventId}/reservations`,
      { seat_ids: [seatIds[2]!] },
    );
    const { booking_id: bookingId } = await rig.apiAs<{ booking_id: string }>(
      'tomas',
      'customer',
      'POST',
      `/v1/reservations/${reservationId}/confirm`,
      { payment_method: 'pm_card_visa' },
      { 'idempotency-key': randomUUID() },
    );
    const {
      tickets: [ticket],
    } = await rig.apiAs<TicketsDocument>('tomas', 'customer', 'GET', `/v1/bookings/${bookingId}/tickets`);
    const context = await rig.browser.newContext({ baseURL: rig.base, viewport: phone });
    const page = await context.newPage();
    await withScreenshots(
      'tickets-staff',
      () => [page],
      async () => {
        await page.goto('/scan');
        await page.waitForURL(/\/login\?next=%2Fscan$/);
        if (rig.demo) {
          // The demo login: door staff name the events they check in for.
          await page.getByLabel('Your name').fill('stan');
          await page.getByLabel('Role').selectOption('staff');
          await page.getByLabel('Events you check tickets in for').fill(eventId);
          await screenshot(page, 'login-staff');
          await page.getByRole('button', { name: 'Sign in' }).click();
        } else {
          await page.getByText('I have a token').click();
          await page
            .getByLabel('Bearer token (JWT) from your identity provider')
            .fill(await staffToken(rig, 'stan', [eventId]));
          await page.getByRole('button', { name: 'Use this token' }).click();
        }
        await page.waitForURL(/\/scan$/);
        assert.equal(await page.getByTestId('signed-in-as').textContent(), 'stan · staff');
        if (rig.demo) {
          // The booking mails' address: the demo login gives every name one.
          const claims = await page.evaluate(
            () => JSON.parse(atob(localStorage.getItem('boxoffice.session')!.split('.')[1]!)) as { email?: string },
          );
          assert.equal(claims.email, 'stan@example.com');
        }
        await page.getByTestId('scan-events').locator(`[data-event-id="${eventId}"]`).getByText('Staff Night').click();
        await page.waitForURL(new RegExp(`/scan/${eventId}$`));
        assert.equal(await checkInTyped(page, ticket!.code), 'admitted');

        // Another event's scanner: the service does not let this person check in there.
        await page.goto('/scan');
        await page.getByTestId('scan-event-id').fill(other.eventId);
        await page.getByRole('button', { name: 'Open scanner' }).click();
        await page.waitForURL(new RegExp(`/scan/${other.eventId}$`));
        assert.equal(await checkInTyped(page, ticket!.code), 'refused');
        assert.match((await page.getByTestId('scan-answer').textContent()) ?? '', /You may not check tickets in/);
        await screenshot(page, 'scanner-refused');
      },
    );
    await context.close();
  });
});
