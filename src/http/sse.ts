// A Server-Sent Events response as a FeedClient: the headers go out with the first message.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FeedClient } from '../app/seat-feed-hub.ts';

export function sseClient(request: FastifyRequest, reply: FastifyReply): FeedClient {
  const raw = reply.raw;
  return {
    send(data) {
      if (!raw.headersSent) {
        reply.hijack();
        // No chunked encoding: each message is one write of a buffer shared by every
        // client (chunk framing would add two writes per client and per message). The
        // stream then ends with the connection, as an endless response does anyway.
        raw.useChunkedEncodingByDefault = false;
        raw.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          'x-accel-buffering': 'no',
          'x-request-id': request.id,
          connection: 'close',
        });
      }
      if (!raw.destroyed && !raw.writableEnded) raw.write(data);
    },
    bufferedBytes: () => raw.writableLength,
    close: () => {
      if (raw.headersSent) raw.end();
      else raw.destroy();
    },
  };
}

/** Ends the subscription when the connection goes (or has already gone). */
export function endWithConnection(reply: FastifyReply, end: () => void): void {
  if (reply.raw.destroyed) end();
  else reply.raw.on('close', end);
}
