// Loaded into every test process (test/run.mjs): a test may talk to this machine only.
// A connection to any other host throws before a packet leaves, instead of leaking
// traffic or hanging.
import net from 'node:net';

export function isLoopback(host) {
  return host === undefined || host === '' || host === 'localhost' || host === '::1' || /^127\./.test(host);
}

/** The {host, port, path} a Socket#connect call aims at, whichever form it was called in. */
export function targetOf(args) {
  // net.connect() hands Socket#connect an already normalized [options, callback] array.
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (typeof first === 'object' && first !== null) return { host: first.host, port: first.port, path: first.path };
  if (typeof first === 'string' && !/^\d+$/.test(first)) return { path: first };
  return { port: first, host: typeof args[1] === 'string' ? args[1] : undefined };
}

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  const target = targetOf(args);
  if (target.path === undefined && !isLoopback(target.host)) {
    throw new Error(`a test tried to reach ${target.host}:${target.port}; tests may only use 127.0.0.1`);
  }
  return connect.apply(this, args);
};
