// What the browser tests do on the app's pages, in one place: the seat map's test hooks
// (the map draws on a canvas, so a seat is found by its drawn position), events made
// through the API, and waiting for the live stream.
import type { Page } from 'playwright-core';
import { createAuthenticator } from '../../src/http/plugins/auth.ts';
import type { BrowserRig } from './browser.ts';
import { eventBody, testSecret } from './harness.ts';

export interface MadeEvent {
  eventId: string;
  seatIds: string[];
}

/** A published event on sale now, made by organizer `olivia` through the API. */
export async function makeEvent(rig: BrowserRig, overrides: Record<string, unknown> = {}): Promise<MadeEvent> {
  const { event_id: eventId } = await rig.apiAs<{ event_id: string }>(
    'olivia',
    'organizer',
    'POST',
    '/v1/events',
    eventBody({
      name: 'Browser Test Night',
      max_seats_per_user: 4,
      price_tiers: [
        { id: 'front', name: 'Front', price_cents: 9000, currency: 'USD' },
        { id: 'back', name: 'Back', price_cents: 4000, currency: 'USD' },
      ],
      seat_map: {
        sections: [
          { name: 'Front', price_tier: 'front', rows: [1, 2, 3].map((row) => ({ label: String(row), seats: 12 })) },
          { name: 'Back', price_tier: 'back', rows: [1, 2, 3, 4].map((row) => ({ label: String(row), seats: 16 })) },
        ],
      },
      ...overrides,
    }),
  );
  const seats = await rig.apiAs<{ seats: { seat_id: string }[] }>(
    'olivia',
    'organizer',
    'GET',
    `/v1/events/${eventId}/seats`,
  );
  return { eventId, seatIds: seats.seats.map((seat) => seat.seat_id) };
}

/** Opens the event page and waits until the map is drawn and the live stream is connected. */
export async function openSeatMap(page: Page, eventId: string): Promise<void> {
  await page.goto(`/events/${eventId}`);
  await page.waitForFunction(() =>
    Boolean(document.querySelector<HTMLElement & { seatMapTest?: unknown }>('[data-testid="seat-map"]')?.seatMapTest),
  );
  await page.getByTestId('live-status').getByText('live').waitFor();
}

interface SeatMapTest {
  seatCenter(seatId: string): { x: number; y: number } | null;
  statusOf(seatId: string): string | null;
  selected(): string[];
}

function hooks(page: Page) {
  return {
    seatCenter: (seatId: string) =>
      page.evaluate(
        (id) =>
          (
            document.querySelector('[data-testid="seat-map"]') as unknown as { seatMapTest: SeatMapTest }
          ).seatMapTest.seatCenter(id),
        seatId,
      ),
    statusOf: (seatId: string) =>
      page.evaluate(
        (id) =>
          (
            document.querySelector('[data-testid="seat-map"]') as unknown as { seatMapTest: SeatMapTest }
          ).seatMapTest.statusOf(id),
        seatId,
      ),
    selected: () =>
      page.evaluate(() =>
        (
          document.querySelector('[data-testid="seat-map"]') as unknown as { seatMapTest: SeatMapTest }
        ).seatMapTest.selected(),
      ),
  };
}

/** Clicks a seat where the canvas drew it. */
export async function clickSeat(page: Page, seatId: string): Promise<void> {
  const center = await hooks(page).seatCenter(seatId);
  if (!center) throw new Error(`seat ${seatId} is not drawn`);
  await page.mouse.click(center.x, center.y);
}

export const seatStatus = (page: Page, seatId: string) => hooks(page).statusOf(seatId);
export const selectedSeats = (page: Page) => hooks(page).selected();

/** Waits until the map shows seatId with status; returns how long that took. */
export async function waitForSeatStatus(
  page: Page,
  seatId: string,
  status: string,
  timeoutMs: number,
): Promise<number> {
  const startedMs = Date.now();
  await page.waitForFunction(
    ([id, wanted]) =>
      (
        document.querySelector('[data-testid="seat-map"]') as unknown as { seatMapTest: SeatMapTest }
      ).seatMapTest.statusOf(id!) === wanted,
    [seatId, status] as const,
    { timeout: timeoutMs, polling: 20 },
  );
  return Date.now() - startedMs;
}

/** Selects seats on the map and holds them; resolves on the checkout page. */
export async function holdSeats(page: Page, seatIds: string[]): Promise<string> {
  for (const seatId of seatIds) await clickSeat(page, seatId);
  await page.getByTestId('hold').click();
  await page.waitForURL(/\/reservations\/[^/]+$/);
  return page.url().split('/').pop()!;
}

/**
 * Records what the page's Content-Security-Policy refuses, from before the app's first
 * script runs; the returned function lists it (of the page loaded now, and the console's).
 */
export async function watchViolations(page: Page): Promise<() => Promise<string[]>> {
  const refused: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) refused.push(message.text());
  });
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { cspViolations: string[] }).cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (event) =>
      seen.push(`${event.violatedDirective} ${event.blockedURI} ${event.sourceFile}:${event.lineNumber}`),
    );
  });
  return async () => [
    ...refused,
    ...(await page.evaluate(() => (window as unknown as { cspViolations?: string[] }).cspViolations ?? [])),
  ];
}

/**
 * A door-staff token (role staff, checking tickets in for `events`): minted by the demo
 * server, or signed with testSecret for a server with an identity provider (AUTH_SECRET).
 */
export async function staffToken(rig: BrowserRig, userId: string, events: string[]): Promise<string> {
  if (!rig.demo) return createAuthenticator({ secret: testSecret }).sign!({ id: userId, role: 'staff', events }, 3600);
  const response = await fetch(`${rig.base}/v1/dev/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ user_id: userId, role: 'staff', events }),
  });
  if (!response.ok) throw new Error(`dev token: ${response.status} ${await response.text()}`);
  return ((await response.json()) as { token: string }).token;
}
