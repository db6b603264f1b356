// Serves the browser app (web/, built by Vite into WEB_APP_DIR) at `/`. Its pages are
// client-side routes, so a browser asking for an HTML page the API does not know gets the
// app's index.html; API paths and non-HTML requests keep their problem+json 404.
//
// The sign-in token lives in the page's localStorage, so the page must run nothing but
// its own files: a strict Content-Security-Policy (the built app has no inline script or
// style; styles set from code go through the CSSOM, which CSP allows), and it may not be
// framed (clickjacking). Set here, on the app's files only: the API answers JSON, and
// /docs (Swagger UI) has its own needs.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';

const webAppContentSecurityPolicy = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:", // data: for the empty favicon of index.html
  "connect-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Every file of the app: never sniffed into another type, no referrer sent on. */
const fileHeaders = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
/** The app's page (index.html, also for its client-side routes). */
const pageHeaders = {
  ...fileHeaders,
  'content-security-policy': webAppContentSecurityPolicy,
  'x-frame-options': 'DENY',
};

/** The file a precompressed copy (`index.html.br`, built by web-app-precompress.ts) stands for. */
function servedFile(filePath: string): string {
  return filePath.replace(/\.(br|gz)$/, '');
}

function setSecurityHeaders(response: { setHeader(name: string, value: string): unknown }, filePath: string) {
  for (const [name, value] of Object.entries(servedFile(filePath).endsWith('.html') ? pageHeaders : fileHeaders)) {
    response.setHeader(name, value);
  }
}

const apiPrefixes = ['/v1/', '/docs', '/openapi.json', '/healthz', '/readyz', '/metrics'];

/** Whether a request that matched no route should get the app's page instead of a 404. */
export function wantsAppPage(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  const pathname = request.url.split('?')[0]!;
  if (apiPrefixes.some((prefix) => pathname === prefix.replace(/\/$/, '') || pathname.startsWith(prefix))) return false;
  if (path.extname(pathname) !== '') return false; // a missing asset stays a 404
  return (request.headers.accept ?? '').includes('text/html');
}

/**
 * Registers the static files when the build exists; returns the fallback for unknown pages,
 * or null when there is no build (the API still works; `npm run build:web` makes it).
 */
export async function registerWebApp(
  app: FastifyInstance,
  directory: string,
): Promise<((request: FastifyRequest, reply: FastifyReply) => FastifyReply) | null> {
  if (directory === 'off') return null;
  const root = path.resolve(directory);
  if (!existsSync(path.join(root, 'index.html'))) {
    app.log.warn({ directory: root }, 'web app not built (npm run build:web); serving the API only');
    return null;
  }
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    // Files are looked up per request, so a rebuild is served without a restart.
    wildcard: true,
    index: ['index.html'],
    cacheControl: false,
    // The build writes brotli and gzip copies (file.js.br, file.js.gz): sent as they are
    // to a browser that accepts them, so nothing is compressed per request. Each copy has
    // its own ETag (from its own size and time), so a 304 never mixes encodings.
    preCompressed: true,
    // Vite names assets by content hash: they never change under one name. Called for
    // the fallback's sendFile('index.html') and for 304 answers too, with the path of the
    // copy actually sent (index.html.br): servedFile() names the file it stands for.
    setHeaders: (response, filePath) => {
      const immutable = filePath.includes(`${path.sep}assets${path.sep}`);
      response.setHeader('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
      // Whether or not this answer was compressed, another Accept-Encoding may get another.
      response.setHeader('vary', 'accept-encoding');
      setSecurityHeaders(response, filePath);
    },
  });
  return (_request, reply) => reply.header('cache-control', 'no-cache').sendFile('index.html', root);
}
