// The waiting room's door in the browser: with the event's challenge on, the page checks the
// browser (solves the proof-of-work challenge in Web Workers, under the app's strict CSP),
// then joins; a reload keeps the place without a new solve. Prints the browser's solve time
// at the server's default cost (ALTCHA_MAX_NUMBER unset).
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { solveChallenge } from 'altcha-lib';
import { deriveKey } from 'altcha-lib/algorithms/sha';
import type { Challenge } from 'altcha-lib/types';
import type { Page } from 'playwright-core';
import { saveScreenshot, startBrowserRig, withScreenshots, type BrowserRig } from '../support/browser.ts';
import { makeEvent, watchViolations } from '../support/browser-pages.ts';
import { testDb } from '../support/harness.ts';

const postgresOnly = testDb !== 'postgres' && 'the browser checks the web app: runs once, in the PostgreSQL pass';

/** The page's own measure of its last solve (web/src/join-challenge.ts), in ms. */
const solveMsOf = (page: Page) =>
  page.evaluate(() => {
    const entries = performance.getEntriesByName('boxoffice:challenge-solve');
    return entries.length === 0 ? null : entries[entries.length - 1]!.duration;
  });

/** In the page: a place shown, or (admitted at once) gone on to the seat map. */
const inLineOrIn = () =>
  /\d/.test(document.querySelector('[data-testid="queue-position"]')?.textContent ?? '') ||
  !location.pathname.endsWith('/queue');

/** Every text the headline showed, from before the app's first script. */
async function recordHeadlines(page: Page): Promise<() => Promise<string[]>> {
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { headlines: string[] }).headlines = seen;
    new MutationObserver(() => {
      const text = document.querySelector('[data-testid="queue-status"]')?.textContent ?? '';
      if (text && seen[seen.length - 1] !== text) seen.push(text);
    }).observe(document, { subtree: true, childList: true, characterData: true });
  });
  return () => page.evaluate(() => (window as unknown as { headlines: string[] }).headlines);
}

describe("the waiting room's door in the browser", { skip: postgresOnly }, () => {
  let rig: BrowserRig;
  before(async () => {
    rig = await startBrowserRig({ ADMIT_TICK_MS: '250', QUEUE_STREAM_INTERVAL_MS: '250' });
  });
  after(async () => rig?.close());

  /** Joins through the door from here (a solve in Node), as a script with a real account would. */
  const joinSolved = async (userId: string, eventId: string) => {
    const challenge = (await (await fetch(`${rig.base}/v1/events/${eventId}/queue/challenge`)).json()) as Challenge;
    const solution = await solveChallenge({ challenge, deriveKey });
    const altcha = Buffer.from(JSON.stringify({ challenge, solution })).toString('base64');
    await rig.apiAs(userId, 'customer', 'POST', `/v1/events/${eventId}/queue`, { altcha });
  };

  it('when the challenge is on, then the page checks the browser, joins, keeps the place over a reload and goes in', async () => {
    const { eventId } = await makeEvent(rig, {
      waiting_room: { enabled: true, admit_per_minute: 60, admission_window_seconds: 900, challenge: true },
    });
    // Six people ahead: at one a second the buyer waits a few seconds, long enough to look.
    for (let index = 1; index <= 6; index += 1) await joinSolved(`early-${index}`, eventId);
    const { page } = await rig.personAs('cora');
    const violations = await watchViolations(page);
    const headlines = await recordHeadlines(page);
    const challenges: string[] = [];
    const joins: (string | null)[] = [];
    page.on('request', (request) => {
      if (request.url().endsWith('/queue/challenge')) challenges.push(request.url());
      if (request.method() === 'POST' && request.url().endsWith(`/events/${eventId}/queue`)) {
        joins.push(request.postData());
      }
    });
    await withScreenshots(
      'join-challenge',
      () => [page],
      async () => {
        await page.goto(`/events/${eventId}/queue`);
        await page.waitForFunction(
          () => /\d/.test(document.querySelector('[data-testid="queue-position"]')?.textContent ?? ''),
          null,
          { timeout: 30_000 },
        );
        assert.ok(
          (await headlines()).some((text) => text.startsWith('Checking your browser')),
          `the check was shown: ${JSON.stringify(await headlines())}`,
        );
        assert.equal(challenges.length, 1, 'one challenge fetched');
        assert.equal(joins.length, 2, 'asked once as it is (refused at the door), then with the solution');
        assert.equal(joins[0], null);
        assert.match(joins[1] ?? '', /^\{"altcha":"[A-Za-z0-9+/=]+"\}$/);
        const position = Number((await page.getByTestId('queue-position').textContent())!.replace(/\D/g, ''));
        assert.ok(position >= 1 && position <= 7, `in line behind at most the six who joined first: ${position}`);
        const solveMs = await solveMsOf(page);
        assert.ok(solveMs !== null && solveMs > 0);
        await saveScreenshot(page, 'join-challenge-in-line');
        assert.deepEqual(await violations(), [], 'the workers run under the CSP');

        await page.reload();
        // Back in line, or (admitted meanwhile) on to the seat map: either way the place was kept.
        await page.waitForFunction(
          () =>
            /\d/.test(document.querySelector('[data-testid="queue-position"]')?.textContent ?? '') ||
            !location.pathname.endsWith('/queue'),
          null,
          { timeout: 10_000 },
        );
        assert.equal(challenges.length, 1, 'a reload keeps the place with no new solve');
        await page.waitForURL(new RegExp(`/events/${eventId}$`), { timeout: 20_000 });
      },
    );
  });

  it('when the check runs on a phone, then the page says so and fits the screen', async () => {
    const { eventId } = await makeEvent(rig, {
      waiting_room: { enabled: true, admit_per_minute: 60, admission_window_seconds: 900, challenge: true },
    });
    const { page } = await rig.personAs('phone-1');
    await page.setViewportSize({ width: 390, height: 844 });
    let checkingText: string | null = null;
    let fits = false;
    // The join that carries the solution waits here: the page shows the check until it is answered.
    await page.route(`**/v1/events/${eventId}/queue`, async (route) => {
      if (route.request().method() === 'POST' && route.request().postData()) {
        checkingText = await page.getByTestId('queue-status').textContent();
        fits = await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
        await saveScreenshot(page, 'join-challenge-checking-phone');
      }
      await route.continue();
    });
    await withScreenshots(
      'join-challenge-phone',
      () => [page],
      async () => {
        await page.goto(`/events/${eventId}/queue`);
        await page.waitForFunction(inLineOrIn, null, { timeout: 30_000 });
        assert.match(checkingText ?? '', /^Checking your browser/);
        assert.ok(fits, 'no sideways scrolling at 390 px');
        assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
        await saveScreenshot(page, 'join-challenge-joined-phone');
      },
    );
  });

  it('when several people pass the door at the default cost, then each solve is timed (printed)', async () => {
    const { eventId } = await makeEvent(rig, {
      waiting_room: { enabled: true, admit_per_minute: 60, admission_window_seconds: 900, challenge: true },
    });
    const { page } = await rig.personAs('timer-0');
    const cores = await page.evaluate(() => navigator.hardwareConcurrency);
    await page.close();
    const times: number[] = [];
    for (let person = 1; person <= 6; person += 1) {
      const { context, page } = await rig.personAs(`timer-${person}`);
      try {
        await page.goto(`/events/${eventId}/queue`);
        // In line, or admitted at once (the line may be empty) and on to the seat map: either way it joined.
        await page.waitForFunction(inLineOrIn, null, { timeout: 30_000 }).catch(async (error: unknown) => {
          await saveScreenshot(page, `join-challenge-timer-${person}`);
          throw new Error(`${String(error)}; the page said: ${await page.getByTestId('queue-status').textContent()}`);
        });
        times.push((await solveMsOf(page))!);
      } finally {
        await context.close();
      }
    }
    times.sort((a, b) => a - b);
    const median = (times[2]! + times[3]!) / 2;
    console.log(
      `browser solve time at the default cost (chromium headless, ${cores} cores, ${Math.min(cores, 4)} workers): ` +
        `min ${times[0]!.toFixed(0)} ms, median ${median.toFixed(0)} ms, max ${times[times.length - 1]!.toFixed(0)} ms ` +
        `(${times.map((ms) => ms.toFixed(0)).join(', ')})`,
    );
    assert.equal(times.length, 6);
  });
});
