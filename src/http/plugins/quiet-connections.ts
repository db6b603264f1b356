// Closing the server closes the connections that carry no request.
//
// server.close() waits for every connection, and Node closes only those it thinks idle. A
// connection that was opened and never sent a request (a browser's preconnect, a client
// pool's spare, a subscriber's reconnect) does not count as idle: Node times its headers
// from the moment it opened. Such a connection kept a graceful shutdown waiting until its
// deadline (then exit 1). Once closing, this ends every connection as soon as it carries no
// request: at once for the quiet ones, after the last response for the busy ones (a
// keep-alive connection would otherwise linger until its keep-alive timeout).
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';

export function registerQuietConnectionClose(app: FastifyInstance): void {
  /** Requests in progress per open connection. */
  const requests = new Map<Socket, number>();
  let closing = false;
  const endIfQuiet = (socket: Socket) => {
    if (closing && !requests.get(socket)) socket.destroy();
  };
  app.server.on('connection', (socket: Socket) => {
    requests.set(socket, 0);
    socket.once('close', () => requests.delete(socket));
    endIfQuiet(socket);
  });
  app.server.on('request', (request: { socket: Socket }, response: NodeJS.EventEmitter) => {
    const { socket } = request;
    requests.set(socket, (requests.get(socket) ?? 0) + 1);
    response.once('close', () => {
      if (!requests.has(socket)) return;
      requests.set(socket, requests.get(socket)! - 1);
      endIfQuiet(socket);
    });
  });
  app.addHook('preClose', async () => {
    closing = true;
    for (const socket of requests.keys()) endIfQuiet(socket);
  });
}
