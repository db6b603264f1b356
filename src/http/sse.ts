// A Server-Sent Events response as a FeedClient: the headers go out with the first message.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FeedClient } from '../app/seat-feed-hub.ts';
import type { StreamSlots } from '../app/stream-slots.ts';

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

/**
 * Opens a live stream for this request: first a slot of the caller's address and user
 * (429 TOO_MANY_STREAMS when they hold their most), taken before anything is awaited, then
 * the hub's subscription. Both end with the connection.
 */
export async function openStream(
  request: FastifyRequest,
  reply: FastifyReply,
  slots: StreamSlots,
  connect: (client: FeedClient) => Promise<() => void>,
): Promise<FastifyReply> {
  const release = slots.take(request.ip, request.user?.id ?? null);
  let end: () => void;
  try {
    end = await connect(sseClient(request, reply));
  } catch (error) {
    release();
    throw error;
  }
  endWithConnection(reply, () => {
    end();
    release();
  });
  return reply;
}
