// Cache validators for public catalog reads: routes declare config.cacheSeconds; their
// 200 answers get a weak ETag (a hash of the body) and Cache-Control, and a request whose
// If-None-Match names the ETag gets 304 with no body. A CDN can serve them for that long.
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Seconds a shared cache may serve this route's answer. */
    cacheSeconds?: number;
  }
}

export function registerCaching(app: FastifyInstance) {
  app.addHook('onSend', async (request, reply, payload) => {
    const seconds = request.routeOptions.config?.cacheSeconds;
    if (seconds === undefined || reply.statusCode !== 200 || typeof payload !== 'string') return payload;
    const tag = `W/"${createHash('sha1').update(payload).digest('base64url')}"`;
    reply.header('etag', tag);
    if (!reply.hasHeader('cache-control')) {
      reply.header('cache-control', `public, max-age=${seconds}, stale-while-revalidate=${seconds * 6}`);
    }
    const given = request.headers['if-none-match'];
    if (
      typeof given === 'string' &&
      given.split(',').some((value) => value.trim() === tag || value.trim() === tag.slice(2))
    ) {
      reply.code(304);
      return '';
    }
    return payload;
  });
}
