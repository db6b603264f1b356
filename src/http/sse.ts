// Server-Sent Events: the wire format of the live feeds' messages, and a response as a
// FeedClient (the headers go out with the first message).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { QueueFeedMessage } from '../app/queue-feed-hub.ts';
import type { StatsFeedMessage } from '../app/stats-feed-hub.ts';
import type { FeedClient, SeatFeedMessage } from '../app/seat-feed-hub.ts';
import type { StreamSlots } from '../app/stream-slots.ts';
import { seatIdOf } from '../domain/seat-map.ts';
import { availabilityView } from './seat-map-encoding.ts';

/** Turns a feed's message into the bytes written to its clients. */
export type SseEncoder<Message> = (message: Message) => Buffer;

/** Asks an EventSource that lost its seat-map stream to come back after 2 s. */
const reconnectBytes = Buffer.from('retry: 2000\n\n');
/** A comment: EventSource ignores it; proxies and the client see a live connection. */
const heartbeatBytes = Buffer.from(': heartbeat\n\n');

/**
 * The hub hands one message object to every client it goes to: its bytes are built once
 * (a snapshot is a DEFLATE of the whole map) and shared while the object lives.
 */
const encodedSeatMessages = new WeakMap<SeatFeedMessage, Buffer>();

export const seatFeedBytes: SseEncoder<SeatFeedMessage> = (message) => {
  switch (message.kind) {
    case 'opened':
      return reconnectBytes;
    case 'heartbeat':
      return heartbeatBytes;
    case 'snapshot':
    case 'seat': {
      let bytes = encodedSeatMessages.get(message);
      if (bytes === undefined) {
        bytes = seatEventBytes(message);
        encodedSeatMessages.set(message, bytes);
      }
      return bytes;
    }
  }
};

function seatEventBytes(message: SeatFeedMessage & { kind: 'snapshot' | 'seat' }): Buffer {
  if (message.kind === 'snapshot') {
    const body = JSON.stringify(availabilityView(message.state));
    return Buffer.from(`event: snapshot\nid: ${message.state.version}\ndata: ${body}\n\n`);
  }
  const { version } = message;
  const changes = message.changes.map((change) => ({ seat_id: seatIdOf(change.seatNo), status: change.status }));
  return Buffer.from(`event: seat\nid: ${version}\ndata: ${JSON.stringify({ version, changes })}\n\n`);
}

export const queueFeedBytes: SseEncoder<QueueFeedMessage> = (message) =>
  message.kind === 'heartbeat'
    ? heartbeatBytes
    : Buffer.from(`event: queue\ndata: ${JSON.stringify(message.view)}\n\n`);

export const statsFeedBytes: SseEncoder<StatsFeedMessage> = (message) =>
  message.kind === 'heartbeat'
    ? heartbeatBytes
    : Buffer.from(`event: stats\ndata: ${JSON.stringify(message.view)}\n\n`);

export function sseClient<Message>(
  request: FastifyRequest,
  reply: FastifyReply,
  encode: SseEncoder<Message>,
): FeedClient<Message> {
  const raw = reply.raw;
  return {
    send(message) {
      const data = encode(message);
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
export async function openStream<Message>(
  request: FastifyRequest,
  reply: FastifyReply,
  slots: StreamSlots,
  encode: SseEncoder<Message>,
  connect: (client: FeedClient<Message>) => Promise<() => void>,
): Promise<FastifyReply> {
  const release = slots.take(request.ip, request.user?.id ?? null);
  let end: () => void;
  try {
    end = await connect(sseClient(request, reply, encode));
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
