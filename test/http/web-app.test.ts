// The web app is served at `/`; its client-side routes get its page, the API keeps its
// problem+json 404s.
// PostgreSQL only: test/run.mjs leaves this file out of the PGlite pass.
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { precompressDirectory } from '../../src/http/plugins/web-app-precompress.ts';
import { startTestApp, testDb, type TestApp } from '../support/harness.ts';

// Static files and their headers, whatever the database under the app: once, on PostgreSQL.
const postgresOnly = testDb !== 'postgres' && 'the same on both databases: runs once, in the PostgreSQL pass';

describe('web app', { skip: postgresOnly }, () => {
  let t: TestApp;
  let directory: string;
  // Over a kilobyte, as the built page is, so the build writes compressed copies of it.
  const page = `<!doctype html><title>Boxoffice</title><div id="main"></div><!-- ${'the app page '.repeat(100)}-->`;
  // Script-like text of the size of a real chunk, varied enough not to compress absurdly well.
  const bundle = Array.from(
    { length: 1500 },
    (_, i) => `export function seat${i}(row, n) { return { id: 's${i}-' + row + n, price: ${(i * 37) % 500} }; }\n`,
  ).join('');
  let compressed: Awaited<ReturnType<typeof precompressDirectory>>;
  before(async () => {
    directory = await mkdtemp(path.join(tmpdir(), 'boxoffice-web-'));
    await mkdir(path.join(directory, 'assets'));
    await writeFile(path.join(directory, 'index.html'), page);
    await writeFile(path.join(directory, 'assets', 'index-abc123.js'), 'console.log(1)');
    await writeFile(path.join(directory, 'assets', 'main-def456.js'), bundle);
    compressed = await precompressDirectory(directory); // as `npm run build:web` does
    t = await startTestApp({ webAppDir: directory });
  });
  after(async () => {
    await t?.close();
    await rm(directory, { recursive: true, force: true });
  });

  it('when a browser opens /, then it gets the app page, revalidated', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/', headers: { accept: 'text/html' } });
    assert.equal(response.statusCode, 200);
    assert.match(String(response.headers['content-type']), /text\/html/);
    assert.equal(response.body, page);
    assert.equal(response.headers['cache-control'], 'no-cache');
  });

  it('when a browser opens a client-side route, then it gets the app page', async () => {
    for (const url of ['/events/3f0c', '/reservations/abc?x=1', '/bookings', '/organize']) {
      const response = await t.app.inject({ method: 'GET', url, headers: { accept: 'text/html,*/*' } });
      assert.equal(response.statusCode, 200, url);
      assert.equal(response.body, page, url);
    }
  });

  it('when an asset is asked for, then it is cached for good; a missing one is a 404', async () => {
    const asset = await t.app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    assert.equal(asset.statusCode, 200);
    assert.match(String(asset.headers['cache-control']), /immutable/);
    const missing = await t.app.inject({ method: 'GET', url: '/assets/gone.js', headers: { accept: 'text/html' } });
    assert.equal(missing.statusCode, 404);
    assert.match(String(missing.headers['content-type']), /application\/problem\+json/);
  });

  it('when the app page or its files are served, then a strict CSP, frame denial, nosniff and a referrer policy come with them', async () => {
    const page = (url: string, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'GET', url, headers: { accept: 'text/html', ...headers } });
    const first = await page('/');
    const revalidated = await page('/', { 'if-none-match': String(first.headers.etag) });
    assert.equal(revalidated.statusCode, 304, 'the page is revalidated, and keeps its headers then too');
    const pages = {
      '/': first,
      '/ (304)': revalidated,
      '/index.html': await page('/index.html'),
      '/events/3f0c (a client-side route)': await page('/events/3f0c'),
      '/organize?x=1': await page('/organize?x=1'),
    };
    for (const [url, response] of Object.entries(pages)) {
      const policy = String(response.headers['content-security-policy']);
      const directives = new Map(
        policy.split(';').map((directive) => {
          const [name, ...values] = directive.trim().split(/\s+/);
          return [name!, values.join(' ')] as const;
        }),
      );
      assert.equal(directives.get('default-src'), "'self'", `${url}: ${policy}`);
      assert.equal(directives.get('script-src'), "'self'", `${url}: no inline scripts, no eval`);
      assert.equal(directives.get('object-src'), "'none'", url);
      assert.equal(directives.get('base-uri'), "'self'", url);
      assert.equal(directives.get('frame-ancestors'), "'none'", url);
      assert.doesNotMatch(policy, /unsafe-inline|unsafe-eval|\*/, url);
      assert.equal(response.headers['x-frame-options'], 'DENY', url);
      assert.equal(response.headers['x-content-type-options'], 'nosniff', url);
      assert.equal(response.headers['referrer-policy'], 'no-referrer', url);
    }
    const asset = await t.app.inject({ method: 'GET', url: '/assets/index-abc123.js' });
    assert.equal(asset.statusCode, 200);
    assert.equal(asset.headers['x-content-type-options'], 'nosniff', 'a script is never sniffed into something else');
  });

  it('when an API path or a non-page request matches nothing, then it stays a problem+json 404', async () => {
    for (const [url, accept] of [
      ['/v1/nothing-here', 'text/html'],
      ['/events/3f0c', 'application/json'],
      ['/docsx', 'application/json'],
    ] as const) {
      const response = await t.app.inject({ method: 'GET', url, headers: { accept } });
      assert.equal(response.statusCode, 404, url);
      assert.equal(response.json().code, 'NOT_FOUND', url);
    }
    const post = await t.app.inject({ method: 'POST', url: '/events/3f0c', headers: { accept: 'text/html' } });
    assert.equal(post.statusCode, 404);
  });

  it('when the API is asked for, then the app does not get in the way', async () => {
    const response = await t.app.inject({ method: 'GET', url: '/healthz', headers: { accept: 'text/html' } });
    assert.equal(response.statusCode, 200);
    const events = await t.app.inject({ method: 'GET', url: '/v1/events', headers: { accept: 'text/html' } });
    assert.equal(events.statusCode, 200);
    assert.ok(Array.isArray(events.json().events));
  });
  it('when the build is precompressed, then each text file over a kilobyte gets smaller brotli and gzip copies', () => {
    const byFile = new Map(compressed.map((entry) => [entry.file, entry]));
    assert.equal(byFile.has(path.join('assets', 'index-abc123.js')), false, 'a tiny file is left alone');
    const script = byFile.get(path.join('assets', 'main-def456.js'));
    assert.ok(script, 'the script was compressed');
    assert.equal(script.bytes, Buffer.byteLength(bundle));
    assert.ok(script.brotliBytes < script.bytes / 4, `brotli ${script.brotliBytes} of ${script.bytes} bytes`);
    assert.ok(script.gzipBytes < script.bytes / 3, `gzip ${script.gzipBytes} of ${script.bytes} bytes`);
    assert.ok(script.brotliBytes <= script.gzipBytes, 'brotli at its best quality beats gzip');
    assert.ok(byFile.has('index.html'));
  });

  it('when a browser accepts brotli or gzip, then it gets the precompressed copy, cached for good and varying by encoding', async () => {
    const asset = (acceptEncoding?: string) =>
      t.app.inject({
        method: 'GET',
        url: '/assets/main-def456.js',
        headers: acceptEncoding === undefined ? {} : { 'accept-encoding': acceptEncoding },
      });
    const identity = await asset();
    const brotli = await asset('gzip, deflate, br, zstd'); // what Chromium sends
    const gzip = await asset('gzip, deflate');
    const star = await asset('*');
    assert.equal(identity.headers['content-encoding'], undefined);
    assert.equal(identity.rawPayload.length, Buffer.byteLength(bundle));
    assert.equal(brotli.headers['content-encoding'], 'br');
    assert.equal(brotliDecompressSync(brotli.rawPayload).toString(), bundle);
    assert.equal(gzip.headers['content-encoding'], 'gzip');
    assert.equal(gunzipSync(gzip.rawPayload).toString(), bundle);
    assert.ok(star.headers['content-encoding'] !== undefined, 'Accept-Encoding: * takes a compressed copy');
    assert.ok(brotli.rawPayload.length < identity.rawPayload.length / 4, `br: ${brotli.rawPayload.length} bytes`);
    assert.ok(gzip.rawPayload.length < identity.rawPayload.length / 3, `gzip: ${gzip.rawPayload.length} bytes`);
    for (const [name, response] of Object.entries({ identity, brotli, gzip })) {
      assert.equal(response.statusCode, 200, name);
      assert.match(String(response.headers['content-type']), /javascript/, `${name}: typed as the script, not as .br`);
      assert.equal(response.headers['cache-control'], 'public, max-age=31536000, immutable', name);
      assert.equal(response.headers.vary, 'accept-encoding', name);
      assert.equal(response.headers['x-content-type-options'], 'nosniff', name);
      assert.equal(Number(response.headers['content-length']), response.rawPayload.length, name);
    }
    const small = await t.app.inject({
      method: 'GET',
      url: '/assets/index-abc123.js',
      headers: { 'accept-encoding': 'br' },
    });
    assert.equal(small.headers['content-encoding'], undefined, 'a file without a copy is sent as it is');
    assert.equal(small.body, 'console.log(1)');
    assert.equal(small.headers.vary, 'accept-encoding');
  });

  it('when the app page is sent compressed, then it keeps its CSP and no-cache, and each encoding its own ETag', async () => {
    const openPage = (url: string, headers: Record<string, string>) =>
      t.app.inject({ method: 'GET', url, headers: { accept: 'text/html', ...headers } });
    for (const url of ['/', '/index.html', '/events/3f0c']) {
      const response = await openPage(url, { 'accept-encoding': 'br, gzip' });
      assert.equal(response.statusCode, 200, url);
      assert.equal(response.headers['content-encoding'], 'br', url);
      assert.equal(brotliDecompressSync(response.rawPayload).toString(), page, url);
      assert.match(String(response.headers['content-type']), /text\/html/, url);
      assert.equal(response.headers['cache-control'], 'no-cache', url);
      assert.equal(response.headers.vary, 'accept-encoding', url);
      assert.match(String(response.headers['content-security-policy']), /script-src 'self'/, url);
      assert.equal(response.headers['x-frame-options'], 'DENY', url);
    }
    const brotli = await openPage('/', { 'accept-encoding': 'br' });
    const identity = await openPage('/', {});
    assert.ok(brotli.headers.etag && identity.headers.etag);
    assert.notEqual(brotli.headers.etag, identity.headers.etag, 'two representations, two validators');
    const revalidated = await openPage('/', { 'accept-encoding': 'br', 'if-none-match': String(brotli.headers.etag) });
    assert.equal(revalidated.statusCode, 304);
    assert.match(String(revalidated.headers['content-security-policy']), /frame-ancestors 'none'/);
    assert.equal(revalidated.headers.vary, 'accept-encoding');
    const otherEncoding = await openPage('/', { 'if-none-match': String(brotli.headers.etag) });
    assert.equal(otherEncoding.statusCode, 200, "the brotli copy's ETag does not validate the plain page");
    assert.equal(otherEncoding.body, page);
  });
});
