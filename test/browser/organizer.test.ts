// An organizer signs in (demo login embedded, a pasted token with an identity provider),
// builds an event with the seat-map builder, sees the preview, publishes, and buyers find
// it in the list with the right seat count.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { saveScreenshot, startBrowserRig, withScreenshots, type BrowserRig } from '../support/browser.ts';
import { signToken } from '../support/harness.ts';

// On both databases, unlike the other browser files: each pass signs in its own way (demo login
// on PGlite, a pasted identity-provider token on PostgreSQL), and this is the test of both forms.
describe('organizer in the browser', () => {
  let rig: BrowserRig;
  before(async () => {
    rig = await startBrowserRig();
  });
  after(async () => rig?.close());

  it('when an organizer builds and publishes an event, then it appears in the list with the right seat count', async () => {
    const context = await rig.browser.newContext({ baseURL: rig.base, viewport: { width: 1280, height: 1000 } });
    const page = await context.newPage();
    await withScreenshots(
      'organizer',
      () => [page],
      async () => {
        await page.goto('/organize');
        await page.waitForURL(/\/login\?next=%2Forganize$/);
        if (rig.demo) {
          // Demo login: a name and a role.
          await page.getByLabel('Your name').fill('orla');
          await page.getByLabel('Role').selectOption('organizer');
          await page.getByRole('button', { name: 'Sign in' }).click();
        } else {
          // An identity provider's token, pasted.
          await page.getByText('I have a token').click();
          await page
            .getByLabel('Bearer token (JWT) from your identity provider')
            .fill(await signToken('orla', 'organizer'));
          await page.getByRole('button', { name: 'Use this token' }).click();
        }
        await page.waitForURL(/\/organize$/);
        assert.equal(await page.getByTestId('signed-in-as').textContent(), 'orla · organizer');

        await page.getByTestId('builder-name').fill('Harbour Lights Festival');
        const first = page.getByTestId('builder-section').first();
        await first.getByTestId('section-rows').fill('12');
        await first.getByTestId('section-seats-per-row').fill('25');
        await page.getByTestId('add-section').click();
        const second = page.getByTestId('builder-section').last();
        await second.getByTestId('section-name').fill('Balcony');
        await second.getByTestId('section-rows').fill('4');
        await second.getByTestId('section-seats-per-row').fill('30');
        await page.waitForFunction(
          () => document.querySelector('[data-testid="builder-seat-total"]')?.getAttribute('data-value') === '420',
        );
        // The preview draws the map being built.
        await page.getByTestId('builder-preview').locator('canvas').waitFor();

        await page.getByTestId('create-publish').click();
        await page
          .getByTestId('builder-outcome')
          .filter({ hasText: /published/i })
          .waitFor();
        const mine = page.getByTestId('my-events').locator('li', { hasText: 'Harbour Lights Festival' });
        await mine.waitFor();
        assert.match((await mine.getByTestId('event-status').textContent()) ?? '', /published/i);

        await page.getByRole('link', { name: 'Events', exact: true }).click();
        await page.getByLabel('Search').fill('harbour lights');
        await page.getByRole('button', { name: 'Search' }).click();
        const card = page.getByTestId('event-list').locator('li', { hasText: 'Harbour Lights Festival' });
        await card.waitFor();
        assert.equal(await card.getByTestId('seat-count').textContent(), '420 seats');

        // A buyer opening it sees 420 seats on the map.
        await card.getByRole('link').click();
        await page.waitForURL(/\/events\/[^/]+$/);
        await page.getByTestId('seat-counts').filter({ hasText: '420 of 420' }).waitFor();
      },
    );
    await context.close();
  });

  it('when an organizer saves a draft, then buyers do not see it until it is published', async () => {
    const { page } = await rig.personAs('otto', 'organizer');
    await withScreenshots(
      'organizer-draft',
      () => [page],
      async () => {
        await page.goto('/organize');
        await page.getByTestId('builder-name').fill('Quiet Draft Evening');
        await page.getByTestId('create-draft').click();
        const mine = page.getByTestId('my-events').locator('li', { hasText: 'Quiet Draft Evening' });
        await mine.waitFor();
        const eventId = await mine.getAttribute('data-event-id');
        const listed = async () =>
          (
            (await (await fetch(`${rig.base}/v1/events?q=quiet+draft`)).json()) as { events: { event_id: string }[] }
          ).events.map((event) => event.event_id);
        assert.deepEqual(await listed(), []);
        await mine.getByTestId('publish-event').click();
        await page
          .getByTestId('my-events')
          .locator(`li[data-event-id="${eventId}"][data-status="published"]`)
          .waitFor();
        assert.deepEqual(await listed(), [eventId]);
      },
    );
  });

  it('when an organizer marks wheelchair spaces, companion seats and a section rank, then the event carries them', async () => {
    const { page } = await rig.personAs('oona', 'organizer');
    await withScreenshots(
      'organizer-accessible',
      () => [page],
      async () => {
        await page.goto('/organize');
        await page.getByTestId('builder-name').fill('Access For All Evening');
        const section = page.getByTestId('builder-section').first();
        await section.getByTestId('section-rows').fill('2');
        await section.getByTestId('section-seats-per-row').fill('8');
        await section.getByText(/Edit rows one by one/).click();
        await section.getByLabel('wheelchair spaces').first().fill('1-2');
        await section.getByLabel('companion seats').first().fill('3');
        await section.getByText('Best available (optional)').click();
        await section.getByTestId('section-rank').fill('2');
        await saveScreenshot(page, 'organizer-accessible-form');
        await page.getByTestId('create-publish').click();
        await page
          .getByTestId('builder-outcome')
          .filter({ hasText: /published/i })
          .waitFor();
        const mine = page.getByTestId('my-events').locator('li', { hasText: 'Access For All Evening' });
        const eventId = await mine.getAttribute('data-event-id');
        const event = (await (await fetch(`${rig.base}/v1/events/${eventId}`)).json()) as {
          sections: { rank?: number; rows: { accessible?: number[]; companion?: number[] }[] }[];
        };
        assert.equal(event.sections[0]!.rank, 2);
        assert.deepEqual(event.sections[0]!.rows[0], { label: 'A', seats: 8, accessible: [1, 2], companion: [3] });
        assert.deepEqual(event.sections[0]!.rows[1], { label: 'B', seats: 8 });
      },
    );
  });
});
