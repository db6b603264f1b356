// The web app's seat map in Debian's chromium (playwright-core): how long a buyer waits for
// the first draw of a 4,000 / 20,000 / 100,000-seat map, how smooth panning and zooming are,
// and how long a hold takes to show on an open page. `npx tsx bench/web-seat-map.ts
// [--quick] [--out file.json]`; run by `npm run bench` after the other scenarios.
//
// One service process on a throwaway PostgreSQL database (bench_web_<timestamp>, dropped at
// the end) serving the built app (web/dist, built first when missing). Figures are the
// browser's own clocks (performance.now) on this machine; a busy machine makes them slower.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { cleanUpOnStop, parseChildArgs, runAsScript, writeResult, type ChildOptions } from './child-scenario.ts';
import { eventBody, mintToken, type SeatMapShape } from './fixtures.ts';
import { markdownTable, right } from './markdown.ts';
import { ServerProcess } from './server.ts';
import { median, summarize, type Summary } from './stats.ts';
import { createDatabase, dropDatabase } from './verify.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const authSecret = 'web-seat-map-bench-secret-0123456789abcdef';
const adminUrl = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const log = (message: string) => process.stderr.write(`[web-seat-map] ${message}\n`);

interface Options extends ChildOptions {
  loads: number;
  holds: number;
}

const shapes: { name: string; shape: SeatMapShape }[] = [
  { name: '4,000 seats', shape: { sections: 4, rowsPerSection: 25, seatsPerRow: 40 } },
  { name: '20,000 seats', shape: { sections: 10, rowsPerSection: 50, seatsPerRow: 40 } },
  { name: '100,000 seats', shape: { sections: 20, rowsPerSection: 50, seatsPerRow: 100 } },
];

export interface LoadSample {
  /** From navigation start (performance.now()), in ms. */
  detailMs: number;
  dataMs: number;
  modelMs: number;
  firstDrawMs: number;
  /** The view's own time for that first draw. */
  firstDrawCostMs: number;
  bytes: { document: number; scripts: number; styles: number; detail: number; availability: number; seatList: number };
  heapBytes: number | null;
}

export interface WebSeatMapRun {
  scenario: 'web-seat-map';
  checks: { ok: boolean; problems: string[] };
  mode: 'quick' | 'full';
  at: string;
  chromium: string;
  viewport: string;
  sizes: SizeResult[];
  /** The markdown table of the figures. */
  table: string;
}

export interface SizeResult {
  name: string;
  seats: number;
  loads: LoadSample[];
  firstDraw: Summary;
  pan: FrameFigures;
  zoom: FrameFigures;
  holdToScreenMs: Summary;
}

interface FrameFigures {
  frames: number;
  /** Time between animation frames while the gesture ran: 16.7 ms is 60 frames a second. */
  intervalMs: Summary;
  /** The view's own draw time over the gesture (its slowest draw). */
  drawMsMax: number;
  drawMode: string;
}

/**
 * Installed before the app's own scripts: notes when the map's first draw has happened
 * (checked every animation frame, so up to one frame late). A string, not a function: tsx
 * would wrap a named inner function in a helper the page does not have.
 */
const watchFirstDraw = `(() => {
  const startedAt = performance.now();
  const check = () => {
    const stats = document.querySelector('[data-testid="seat-map"]')?.seatMapTest?.stats();
    if (stats && stats.draws > 0) {
      window.firstDraw = { at: performance.now(), cost: stats.lastDrawMs };
      return;
    }
    if (performance.now() - startedAt < 60000) requestAnimationFrame(check);
  };
  requestAnimationFrame(check);
})();`;

/** What one page load took, from the browser's clocks and resource timings (a string: see above). */
const readLoadFigures = `(() => {
  const mark = (name) => performance.getEntriesByName(name)[0]?.startTime ?? NaN;
  const resources = performance.getEntriesByType('resource');
  const bytesOf = (test) => resources.filter(test).reduce((sum, entry) => sum + entry.encodedBodySize, 0);
  const detail = resources.find((entry) => /\\/v1\\/events\\/[^/]+$/.test(new URL(entry.name).pathname));
  const navigation = performance.getEntriesByType('navigation')[0];
  return {
    detailMs: detail ? detail.responseEnd : NaN,
    dataMs: mark('seat-map:data'),
    modelMs: mark('seat-map:model'),
    firstDrawMs: window.firstDraw.at,
    firstDrawCostMs: window.firstDraw.cost,
    bytes: {
      document: navigation ? navigation.encodedBodySize : 0,
      scripts: bytesOf((entry) => entry.name.endsWith('.js')),
      styles: bytesOf((entry) => entry.name.endsWith('.css')),
      detail: detail ? detail.encodedBodySize : 0,
      availability: bytesOf((entry) => entry.name.includes('/availability')),
      seatList: bytesOf((entry) => new URL(entry.name).pathname.endsWith('/seats')),
    },
    heapBytes: performance.memory ? performance.memory.usedJSHeapSize : null,
  };
})()`;

async function loadOnce(browser: Browser, base: string, token: string, eventId: string): Promise<LoadSample> {
  const context = await browser.newContext({ baseURL: base, viewport: { width: 1280, height: 900 } });
  try {
    await context.addInitScript((value) => localStorage.setItem('boxoffice.session', value), token);
    await context.addInitScript({ content: watchFirstDraw });
    const page = await context.newPage();
    await page.goto(`/events/${eventId}`);
    await page.waitForFunction(() => Boolean((window as unknown as Record<string, unknown>).firstDraw), null, {
      timeout: 60_000,
    });
    return (await page.evaluate(readLoadFigures)) as LoadSample;
  } finally {
    await context.close();
  }
}

/** Frame intervals while `gesture` runs (a rAF loop in the page), and the view's draw cost. */
async function framesDuring(page: Page, gesture: () => Promise<void>): Promise<FrameFigures> {
  await page.evaluate(`(() => {
    const state = { times: [], running: true };
    window.frameProbe = state;
    const tick = (time) => {
      state.times.push(time);
      if (state.running) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  })()`);
  const before = (await page.evaluate('seatMapStats()')) as ReturnType<typeof seatMapStats>;
  await gesture();
  const result = (await page.evaluate(
    '(() => { frameProbe.running = false; return { times: frameProbe.times, stats: seatMapStats() }; })()',
  )) as { times: number[]; stats: ReturnType<typeof seatMapStats> };
  const intervals = result.times.slice(1).map((time, index) => time - result.times[index]!);
  return {
    frames: intervals.length,
    intervalMs: summarize(intervals),
    drawMsMax: result.stats.maxDrawMs >= before.maxDrawMs ? result.stats.maxDrawMs : before.maxDrawMs,
    drawMode: result.stats.mode,
  };
}

declare function seatMapStats(): { draws: number; lastDrawMs: number; maxDrawMs: number; mode: string };

async function measureSize(
  browser: Browser,
  server: ServerProcess,
  options: Options,
  size: (typeof shapes)[number],
  organizer: string,
  buyer: string,
): Promise<SizeResult> {
  const created = await fetch(`${server.origin}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${organizer}`, 'content-type': 'application/json' },
    body: JSON.stringify(eventBody(size.shape, { name: `Web bench ${size.name}`, maxSeatsPerUser: 1000 })),
  });
  if (created.status !== 201) throw new Error(`create event: ${created.status} ${await created.text()}`);
  const { event_id: eventId, seat_count: seats } = (await created.json()) as { event_id: string; seat_count: number };
  log(`${size.name}: ${options.loads} loads`);

  const loads: LoadSample[] = [];
  for (let load = 0; load < options.loads; load++) loads.push(await loadOnce(browser, server.origin, buyer, eventId));

  // One page for the gestures and the live updates.
  const context = await browser.newContext({ baseURL: server.origin, viewport: { width: 1280, height: 900 } });
  try {
    await context.addInitScript((value) => localStorage.setItem('boxoffice.session', value), buyer);
    await context.addInitScript({
      content: `window.seatMapStats = () => document.querySelector('[data-testid="seat-map"]').seatMapTest.stats();`,
    });
    const page = await context.newPage();
    await page.goto(`/events/${eventId}`);
    await page.getByTestId('live-status').getByText('live').waitFor({ timeout: 60_000 });
    const box = (await page.getByTestId('seat-canvas').boundingBox())!;
    const centerX = box.x + box.width / 2;
    const centerY = box.y + box.height / 2;

    const pan = await framesDuring(page, async () => {
      await page.mouse.move(centerX, centerY);
      await page.mouse.down();
      for (let step = 1; step <= 60; step++) {
        const angle = (step / 60) * 2 * Math.PI;
        await page.mouse.move(centerX + Math.sin(angle) * 200, centerY + (1 - Math.cos(angle)) * 80);
        await page.waitForTimeout(16);
      }
      await page.mouse.up();
    });
    const zoom = await framesDuring(page, async () => {
      await page.mouse.move(centerX, centerY);
      for (let step = 0; step < 16; step++) {
        await page.mouse.wheel(0, step < 8 ? -240 : 240);
        await page.waitForTimeout(50);
      }
    });

    // A hold made elsewhere (the API), seen on this open page.
    const holdToScreen: number[] = [];
    for (let index = 0; index < options.holds; index++) {
      const seatId = `s${seats - 1 - index * 7}`;
      const startedMs = Date.now();
      const response = await fetch(`${server.origin}/v1/events/${eventId}/reservations`, {
        method: 'POST',
        headers: { authorization: `Bearer ${organizer}`, 'content-type': 'application/json' },
        body: JSON.stringify({ seat_ids: [seatId] }),
      });
      if (response.status !== 201) throw new Error(`hold: ${response.status} ${await response.text()}`);
      await page.waitForFunction(
        (id) =>
          (
            document.querySelector('[data-testid="seat-map"]') as unknown as {
              seatMapTest: { statusOf(seatId: string): string | null };
            }
          ).seatMapTest.statusOf(id) === 'held',
        seatId,
        { polling: 'raf', timeout: 10_000 },
      );
      holdToScreen.push(Date.now() - startedMs);
      await page.waitForTimeout(300); // past the stream's coalescing interval: each hold alone
    }
    return {
      name: size.name,
      seats,
      loads,
      firstDraw: summarize(loads.map((load) => load.firstDrawMs)),
      pan,
      zoom,
      holdToScreenMs: summarize(holdToScreen),
    };
  } finally {
    await context.close();
  }
}

const formatMs = (value: number) => (Number.isFinite(value) ? value.toFixed(0) : '–');
const formatKb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

export function webSeatMapTable(sizes: SizeResult[]): string {
  const columns = [
    'Map',
    ...['First draw ms (median; min–max)', 'Detail / data / model ms', 'Draw cost ms'].map(right),
    'Over the wire (app, detail, availability)',
    ...['JS heap', 'Pan frame p50 / p90 / max ms', 'Zoom frame p50 / p90 / max ms'].map(right),
    right('Hold → screen p50 / max ms'),
  ];
  const rows = sizes.map((size) => {
    const first = size.loads[0]!;
    const medianMs = (of: (load: LoadSample) => number) => formatMs(median(size.loads.map(of)));
    return [
      size.name,
      `${formatMs(size.firstDraw.p50)} (${formatMs(size.firstDraw.min)}–${formatMs(size.firstDraw.max)})`,
      `${medianMs((load) => load.detailMs)} / ${medianMs((load) => load.dataMs)} / ${medianMs((load) => load.modelMs)}`,
      medianMs((load) => load.firstDrawCostMs),
      `${formatKb(first.bytes.document + first.bytes.scripts + first.bytes.styles)}, ${formatKb(first.bytes.detail)}, ` +
        formatKb(first.bytes.availability),
      first.heapBytes === null ? '–' : `${(first.heapBytes / 1_048_576).toFixed(1)} MB`,
      `${size.pan.intervalMs.p50.toFixed(1)} / ${size.pan.intervalMs.p90.toFixed(1)} / ${size.pan.intervalMs.max.toFixed(1)}`,
      `${size.zoom.intervalMs.p50.toFixed(1)} / ${size.zoom.intervalMs.p90.toFixed(1)} / ${size.zoom.intervalMs.max.toFixed(1)}`,
      `${formatMs(size.holdToScreenMs.p50)} / ${formatMs(size.holdToScreenMs.max)}`,
    ];
  });
  return markdownTable(columns, rows).join('\n');
}

async function main() {
  const options = parseChildArgs<Options>(
    process.argv.slice(2),
    { quick: process.argv.includes('--quick'), out: null, loads: 0, holds: 0 },
    { '--loads': ['loads', 1, 20], '--holds': ['holds', 1, 50] },
    'npx tsx bench/web-seat-map.ts [--quick] [--loads N] [--holds N] [--out file.json]',
  );
  options.loads ||= options.quick ? 1 : 5;
  options.holds ||= options.quick ? 2 : 10;
  if (!existsSync(chromiumPath)) throw new Error(`no chromium at ${chromiumPath} (apt-get install chromium)`);
  if (!existsSync(path.join(root, 'web/dist/index.html'))) {
    log('building the web app (npm run build:web)');
    const built = spawnSync('npm', ['run', '--silent', 'build:web'], { cwd: root, stdio: 'inherit' });
    if (built.status !== 0) throw new Error('npm run build:web failed');
  }
  const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '').toLowerCase();
  const database = `bench_web_${stamp}`;
  const databaseUrl = await createDatabase(adminUrl, database);
  let server: ServerProcess | null = null;
  let browser: Browser | null = null;
  const cleanUp = async () => {
    await browser?.close().catch(() => {});
    await server?.stop().catch(() => {});
    await dropDatabase(adminUrl, database).catch((error: unknown) => log(`dropping ${database}: ${String(error)}`));
  };
  cleanUpOnStop(cleanUp, log);
  try {
    server = await ServerProcess.start({
      root,
      env: { DATABASE_URL: databaseUrl, AUTH_SECRET: authSecret, LOG_LEVEL: 'warn', DEMO_EVENT: 'off' },
    });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic'],
    });
    const organizer = await mintToken(authSecret, 'web-bench-organizer', 'organizer');
    const buyer = await mintToken(authSecret, 'web-bench-buyer', 'customer');
    const sizes: SizeResult[] = [];
    for (const size of options.quick ? shapes.slice(-1) : shapes) {
      sizes.push(await measureSize(browser, server, options, size, organizer, buyer));
    }
    // Correctness, never timings: every map drew from the sections and the 2-bit availability
    // (not the full seat list), and every hold made elsewhere reached the open page.
    const problems: string[] = [];
    for (const size of sizes) {
      if (size.loads.some((load) => load.bytes.seatList > 0 || load.bytes.availability === 0))
        problems.push(`${size.name}: the page read the full seat list instead of the availability`);
      if (size.holdToScreenMs.count !== options.holds)
        problems.push(`${size.name}: ${size.holdToScreenMs.count} of ${options.holds} holds reached the page`);
    }
    const result: WebSeatMapRun = {
      scenario: 'web-seat-map',
      checks: { ok: problems.length === 0, problems },
      mode: options.quick ? 'quick' : 'full',
      at: new Date().toISOString(),
      chromium: browser.version(),
      viewport: '1280×900',
      sizes,
      table: webSeatMapTable(sizes),
    };
    process.stderr.write(`${result.table}\n`);
    writeResult(options.out, result, root, log);
    return problems.length === 0 ? 0 : 1;
  } finally {
    await cleanUp();
  }
}

runAsScript(import.meta.url, 'web-seat-map', main);
