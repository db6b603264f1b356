// Browser tests: the real server process (serving the built web app) on the test's
// database, and Debian's chromium driven by playwright-core. Never a downloaded browser.
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import {
  createSchema,
  deleteRedisKeys,
  dropSchema,
  postgresUrlFor,
  redisUrl,
  signToken,
  testDb,
  testSecret,
} from './harness.ts';
import { startServerProcess, type ServerProcess } from './processes.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const screenshotDir = path.join(root, 'test-results', 'browser');

export interface BrowserRig {
  base: string;
  server: ServerProcess;
  browser: Browser;
  /**
   * Demo mode (the PGlite pass: DEMO_MODE=true, tokens from /v1/dev/token, the demo login
   * form), or an identity provider (the PostgreSQL pass: demo mode is refused with
   * DATABASE_URL; tokens signed with AUTH_SECRET and pasted into the token form).
   */
  demo: boolean;
  /** A new browser context (its own storage: a separate person) signed in as userId. */
  personAs(userId: string, role?: 'customer' | 'organizer'): Promise<{ context: BrowserContext; page: Page }>;
  /** POST/GET to the API as userId (a token from the demo server). */
  apiAs<T>(
    userId: string,
    role: 'customer' | 'organizer',
    method: string,
    url: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<T>;
  close(): Promise<void>;
}

/** Starts a server on the run's database (demo mode when embedded), and chromium. */
export async function startBrowserRig(env: Record<string, string> = {}): Promise<BrowserRig> {
  if (!existsSync(path.join(root, 'web/dist/index.html'))) {
    throw new Error('web/dist is not built: npm test builds it (pretest: npm run build:web)');
  }
  if (!existsSync(chromiumPath)) throw new Error(`no chromium at ${chromiumPath}: apt-get install chromium`);
  let schema: string | undefined;
  let dataDir: string | undefined;
  let databaseEnv: Record<string, string>;
  if (testDb === 'postgres') {
    schema = await createSchema();
    databaseEnv = {
      DATABASE_URL: postgresUrlFor(schema),
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: `bxt:${schema}:`,
      AUTH_SECRET: testSecret,
    };
  } else {
    dataDir = await mkdtemp(path.join(tmpdir(), 'boxoffice-browser-'));
    databaseEnv = { DATA_DIR: dataDir, DEMO_MODE: 'true' };
  }
  const demo = testDb !== 'postgres';
  // A fresh PGlite data directory is migrated at start: slow on a busy 2-core machine.
  const server = await startServerProcess({ ...databaseEnv, CATALOG_CACHE_TTL_MS: '0', ...env }, 120_000);
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic'],
  });
  const tokens = new Map<string, string>();
  const tokenFor = async (userId: string, role: 'customer' | 'organizer') => {
    const key = `${userId}/${role}`;
    let token = tokens.get(key);
    if (!token && !demo) {
      token = await signToken(userId, role);
      tokens.set(key, token);
    }
    if (!token) {
      const response = await fetch(`${server.url}/v1/dev/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ user_id: userId, role }),
      });
      if (!response.ok) throw new Error(`dev token: ${response.status} ${await response.text()}`);
      token = ((await response.json()) as { token: string }).token;
      tokens.set(key, token);
    }
    return token;
  };
  const contexts: BrowserContext[] = [];
  return {
    base: server.url,
    server,
    browser,
    demo,
    async personAs(userId, role = 'customer') {
      const token = await tokenFor(userId, role);
      const context = await browser.newContext({ baseURL: server.url, viewport: { width: 1280, height: 900 } });
      contexts.push(context);
      await context.addInitScript((value) => {
        if (!localStorage.getItem('boxoffice.session')) localStorage.setItem('boxoffice.session', value);
      }, token);
      const page = await context.newPage();
      return { context, page };
    },
    async apiAs<T>(
      userId: string,
      role: 'customer' | 'organizer',
      method: string,
      url: string,
      body?: unknown,
      headers: Record<string, string> = {},
    ) {
      const token = await tokenFor(userId, role);
      const response = await fetch(`${server.url}${url}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      if (!response.ok) throw new Error(`${method} ${url}: ${response.status} ${text}`);
      return (text ? JSON.parse(text) : undefined) as T;
    },
    async close() {
      // A server that died under a test says why (its output is otherwise kept to itself).
      if (server.child.exitCode !== null || server.child.signalCode !== null) {
        process.stderr.write(
          `the server exited during the tests (${server.child.exitCode ?? server.child.signalCode}):\n` +
            `${server.output().slice(-20_000)}\n`,
        );
      }
      await Promise.all(contexts.map((context) => context.close().catch(() => {})));
      await browser.close();
      await server.stop();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
      if (schema) {
        await dropSchema(schema);
        await deleteRedisKeys(redisUrl, `bxt:${schema}:`);
      }
    },
  };
}

/**
 * Saves a screenshot of a state worth looking at (test-results/browser/<db>-<name>.png), for
 * a person to check the page looks right; the test does not read it.
 */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  await mkdir(screenshotDir, { recursive: true });
  const slug = `${testDb}-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`;
  await page.screenshot({ path: path.join(screenshotDir, `${slug}.png`), fullPage: true });
}

/** Runs a browser test body; on failure saves a screenshot of each page under test-results/browser/. */
export async function withScreenshots(name: string, pages: () => Page[], body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    await mkdir(screenshotDir, { recursive: true });
    const slug = `${testDb}-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}`;
    await Promise.all(
      pages().map((page, index) =>
        page.screenshot({ path: path.join(screenshotDir, `${slug}-${index}.png`), fullPage: true }).catch(() => {}),
      ),
    );
    throw error;
  }
}
