// Connections, below requests: how many one address may hold, and what a client hears when
// its request never becomes one (too slow, too large, not HTTP).
//
// Per address: a connection costs memory and a file descriptor before it carries a request,
// and one host could otherwise hold thousands (idle, or sending a body byte by byte). Past
// connectionsPerAddressMax open connections of one socket address, a new one is closed at
// once, before a request is read (answering would mean reading it first). The address is
// the socket's: behind a proxy every connection comes from the proxy, so there the limit
// must be raised above the proxy's own connection pool (or set to 0, and the proxy limits
// per client).
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { problemDocument } from './problems.ts';

export function registerConnectionLimit(app: FastifyInstance, perAddressMax: number): void {
  if (perAddressMax === 0) return;
  const open = new Map<string, number>();
  app.server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress;
    if (address === undefined) return; // closed before it was seen
    const count = open.get(address) ?? 0;
    if (count >= perAddressMax) {
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left === 0) open.delete(address);
      else open.set(address, left);
    });
  });
}

interface ClientError extends Error {
  code?: string;
}

const answers: Record<string, [status: number, code: string, detail: string]> = {
  // HEADERS_TIMEOUT_MS or REQUEST_TIMEOUT_MS ran out before the request had arrived.
  ERR_HTTP_REQUEST_TIMEOUT: [408, 'REQUEST_TIMEOUT', 'the request did not arrive in time; send it again'],
  HPE_HEADER_OVERFLOW: [431, 'HEADERS_TOO_LARGE', 'the request headers are too large'],
};

/**
 * Fastify's clientErrorHandler: Node's parser or timers refused the request before it
 * reached a route. The answer is a problem document like every other, then the connection
 * ends (what is left on it cannot be trusted to be a request boundary).
 */
export function answerClientError(error: ClientError, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, code, detail] = answers[error.code ?? ''] ?? [
    400,
    'MALFORMED_REQUEST',
    'this is not a valid HTTP request',
  ];
  // Node's own rule: never write over an answer that has begun.
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const body = JSON.stringify(problemDocument(status, code, detail));
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\ncontent-type: application/problem+json\r\n` +
        `content-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
