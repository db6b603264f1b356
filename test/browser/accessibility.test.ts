// axe-core on every main page of the web app, at a desktop size (1280×900) and a phone
// size (390×844): no serious or critical violation. The page's Content-Security-Policy
// (script-src 'self') refuses an inline <script>, so page.addScriptTag({ content }) cannot
// add axe; page.evaluate runs its source through the DevTools protocol instead, which the
// policy does not govern, and the page under test keeps its real policy.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { saveScreenshot, startBrowserRig, withScreenshots, type BrowserRig } from '../support/browser.ts';
import { holdSeats, makeEvent, openSeatMap } from '../support/browser-pages.ts';
import { testDb } from '../support/harness.ts';

const postgresOnly = testDb !== 'postgres' && 'the browser checks the web app: runs once, in the PostgreSQL pass';

const sizes = [
  { name: 'desktop', width: 1280, height: 900 },
  { name: 'phone', width: 390, height: 844 },
] as const;

interface Finding {
  id: string;
  impact: string | null;
  help: string;
  targets: string[];
}

let axeSource: string;

/**
 * Runs axe on the page as it stands, its experimental rules too (label-content-name-mismatch
 * is one); answers the serious and critical violations, and how many rules passed.
 */
async function runAxe(page: Page): Promise<{ findings: Finding[]; rulesPassed: number }> {
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    interface AxeResults {
      violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
      passes: unknown[];
    }
    const axe = (
      window as unknown as {
        axe: {
          getRules(tags: string[]): { ruleId: string }[];
          run(context: Document, options: object): Promise<AxeResults>;
        };
      }
    ).axe;
    const experimental = Object.fromEntries(
      axe.getRules(['experimental']).map((rule) => [rule.ruleId, { enabled: true }]),
    );
    const results = await axe.run(document, { resultTypes: ['violations'], rules: experimental });
    return {
      rulesPassed: results.passes.length,
      findings: results.violations
        .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
        .map((violation) => ({
          id: violation.id,
          impact: violation.impact,
          help: violation.help,
          targets: violation.nodes.map((node) => node.target.join(' ')).slice(0, 5),
        })),
    };
  });
}

/** Waits until the page has drawn what it loads (no visible "Loading…" left; closed <details> load when opened). */
async function settled(page: Page): Promise<void> {
  await page.locator('main h1').first().waitFor();
  await page.waitForFunction(
    () =>
      ![...document.querySelectorAll('main *')].some(
        (element) => element.childElementCount === 0 && element.textContent === 'Loading…' && element.checkVisibility(),
      ),
  );
}

/** Checks the page at both sizes, saving a screenshot of each; answers what failed, by page and size. */
async function checkAtBothSizes(page: Page, name: string): Promise<string[]> {
  const failures: string[] = [];
  for (const size of sizes) {
    await page.setViewportSize({ width: size.width, height: size.height });
    await settled(page);
    await saveScreenshot(page, `a11y-${name}-${size.name}`);
    // The top bar is one line at both sizes: its brand, links and session side by side.
    const tops = await page
      .locator('.top-bar > *:not([hidden])')
      .evaluateAll((parts) => parts.map((part) => Math.round(part.getBoundingClientRect().top)));
    if (Math.max(...tops) - Math.min(...tops) > 8) failures.push(`${name} (${size.name}): top bar wraps (${tops})`);
    const { findings, rulesPassed } = await runAxe(page);
    assert.ok(rulesPassed >= 10, `${name} (${size.name}): axe ran (${rulesPassed} rules passed)`);
    for (const finding of findings) {
      failures.push(
        `${name} (${size.name}): ${finding.impact} ${finding.id}: ${finding.help} at ${finding.targets.join(', ')}`,
      );
    }
  }
  await page.setViewportSize({ width: sizes[0].width, height: sizes[0].height });
  return failures;
}

describe('the web app with axe-core', { skip: postgresOnly }, () => {
  let rig: BrowserRig;
  before(async () => {
    axeSource = await readFile(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
    rig = await startBrowserRig();
  });
  after(async () => rig?.close());

  it('when a visitor signs in and a buyer browses, holds, pays and looks at their bookings, then axe finds nothing serious', async () => {
    const { eventId, seatIds } = await makeEvent(rig, { name: 'Accessible Night' });
    const visitor = await rig.browser.newContext({ baseURL: rig.base });
    const visitorPage = await visitor.newPage();
    const buyer = await rig.personAs('a11ybuyer');
    const page = buyer.page;
    try {
      await withScreenshots(
        'accessibility-buyer',
        () => [visitorPage, page],
        async () => {
          const failures: string[] = [];
          await visitorPage.goto('/login');
          failures.push(...(await checkAtBothSizes(visitorPage, 'login')));

          // The real build, as Chromium gets it: its script precompressed with brotli, cached for good.
          const script = page.waitForResponse((response) => /\/assets\/index-[^/]+\.js$/.test(response.url()));
          await page.goto('/');
          const scriptHeaders = await (await script).allHeaders();
          assert.equal(scriptHeaders['content-encoding'], 'br');
          assert.equal(scriptHeaders['cache-control'], 'public, max-age=31536000, immutable');
          assert.equal(scriptHeaders.vary, 'accept-encoding');
          await page.getByTestId('event-list').locator('li', { hasText: 'Accessible Night' }).waitFor();
          failures.push(...(await checkAtBothSizes(page, 'events')));

          await openSeatMap(page, eventId);
          failures.push(...(await checkAtBothSizes(page, 'event-seat-map')));
          await page.getByRole('button', { name: 'Show a list of available seats' }).click();
          await page.locator('.seat-list tbody tr').first().waitFor();
          failures.push(...(await checkAtBothSizes(page, 'event-seat-list')));
          await page.getByRole('button', { name: 'Show the seat map' }).click();

          await holdSeats(page, [seatIds[0]!, seatIds[1]!]);
          await page.getByTestId('countdown').waitFor();
          failures.push(...(await checkAtBothSizes(page, 'checkout')));
          await page.getByLabel(/accepted/i).check();
          await page.getByTestId('pay').click();
          await page.getByTestId('booking-confirmation').waitFor();
          failures.push(...(await checkAtBothSizes(page, 'booking-confirmed')));

          await page.goto('/bookings');
          await page.getByText('Accessible Night').first().waitFor();
          failures.push(...(await checkAtBothSizes(page, 'bookings')));
          assert.deepEqual(failures, []);
        },
      );
    } finally {
      await visitor.close();
    }
  });

  it('when an organizer builds an event and opens its stats and blocks, then axe finds nothing serious', async () => {
    const { eventId } = await makeEvent(rig, { name: 'Accessible Organizer Night' });
    const organizer = await rig.personAs('olivia', 'organizer');
    const page = organizer.page;
    await withScreenshots(
      'accessibility-organizer',
      () => [page],
      async () => {
        const failures: string[] = [];
        await page.goto('/organize');
        await page.getByTestId('builder-preview').locator('canvas').waitFor();
        failures.push(...(await checkAtBothSizes(page, 'organize')));
        await page.goto(`/organize/events/${eventId}/stats`);
        failures.push(...(await checkAtBothSizes(page, 'organize-stats')));
        await page.goto(`/organize/events/${eventId}/blocks`);
        failures.push(...(await checkAtBothSizes(page, 'organize-blocks')));
        assert.deepEqual(failures, []);
      },
    );
  });
});
