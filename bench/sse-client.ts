// One client process of the SSE fan-out benchmark (bench/sse-fanout.ts starts a few of them):
// opens its share of GET /v1/events/{id}/seats/stream connections on raw TCP sockets and
// records, per connection, when the snapshot and when each watched seat's `seat` message
// arrived. Kept as light as it can be, so the client is not what the latency measures:
// every socket reads into one shared buffer (net's `onread`, no Buffer per read, no stream
// machinery, no string decoding), and a read is scanned with Buffer.indexOf only. The HTTP
// response is chunked; a chunk is one write of the server (one SSE message), so a message
// never has a chunk header inside it, and a read that ends in "\n" never splits one.
//
// Protocol (IPC, advanced serialization): the parent sends `start`, this process answers
// `ready` once every connection has its snapshot or failed; `ping` → `pong` (clock offset);
// `finish` → waits until every live connection has every watched seat (or the deadline),
// answers `done` with the arrival times, closes its sockets and exits.
import { connect, type Socket } from 'node:net';

export interface ClientStart {
  type: 'start';
  host: string;
  port: number;
  path: string;
  count: number;
  concurrency: number;
  /** The seat ids whose `seat` messages are timed, in change order. */
  seatIds: string[];
  /** Overall bound on the connect phase, ms. */
  connectTimeoutMs: number;
}

export interface ClientReady {
  type: 'ready';
  connected: number;
  failed: number;
  /** Failure reasons, counted. */
  failures: Record<string, number>;
  /** Epoch ms (this process's clock) of the first connect and the last snapshot. */
  firstConnectAt: number;
  lastSnapshotAt: number;
  /** Per connection: ms from connect() to the whole snapshot message read (NaN when failed). */
  connectMs: Float64Array;
  /** Per connection: bytes of the snapshot SSE message (`event: snapshot … \n\n`). */
  snapshotBytes: Float64Array;
  /** Per connection: bytes read from the socket up to and including the snapshot (HTTP head, retry, chunking). */
  bytesToSnapshot: Float64Array;
  snapshotVersions: number[];
  /** CPU seconds (user + system) of this process since `start`. */
  cpuS: number;
}

export interface ClientDone {
  type: 'done';
  /** arrivals[c * changes + k]: epoch ms (this clock) the seat of change k reached connection c; NaN if never. */
  arrivals: Float64Array;
  changes: number;
  /** Connections the server closed (or that errored) after their snapshot, before `finish` ended. */
  dropped: number;
  /** Snapshots after the first one (a reset), over all connections. */
  extraSnapshots: number;
  /** `event: seat` messages read, over all connections. */
  seatMessages: number;
  heartbeats: number;
  bytesAfterSnapshot: number;
  cpuS: number;
}

type Message = ClientStart | { type: 'ping'; id: number } | { type: 'finish'; waitMs: number; expected: number[] };

let cpuBaseline = process.cpuUsage();
/** CPU seconds of this process since `start` arrived (its own start-up and compilation left out). */
const cpuSeconds = () => {
  const usage = process.cpuUsage(cpuBaseline);
  return (usage.user + usage.system) / 1e6;
};

const now = () => performance.timeOrigin + performance.now();

const CRLFCRLF = Buffer.from('\r\n\r\n');
const SNAPSHOT = Buffer.from('event: snapshot\n');
const SEAT_EVENT = Buffer.from('event: seat\n');
const SEAT_ID = Buffer.from('"seat_id":"');
const HEARTBEAT = Buffer.from(': heartbeat\n');
const ID_LINE = Buffer.from('\nid: ');
const END = Buffer.from('\n\n');
const QUOTE = 0x22;
const NEWLINE = 0x0a;

interface Conn {
  index: number;
  socket: Socket | null;
  startedAt: number;
  /** 0 reading the head, 1 waiting for the snapshot, 2 live, 3 closed/failed. */
  phase: number;
  /** Closed after its snapshot (by the server, or an error). */
  dropped: boolean;
  pending: Buffer | null;
  carry: Buffer | null;
  bytes: number;
  received: number;
}

function run(start: ClientStart) {
  const send = (message: unknown) => process.send!(message);
  const count = start.count;
  const changes = start.seatIds.length;
  const seatIndex = new Map<string, number>();
  /** The changes a connection must have to be complete (all, until `finish` says which holds answered 201). */
  const expectedMask = new Uint8Array(changes).fill(1);
  let expectedCount = changes;
  start.seatIds.forEach((id, index) => seatIndex.set(id, index));
  const arrivals = new Float64Array(count * changes).fill(NaN);
  const connectMs = new Float64Array(count).fill(NaN);
  const snapshotBytes = new Float64Array(count).fill(NaN);
  const bytesToSnapshot = new Float64Array(count).fill(NaN);
  const snapshotVersions = new Map<number, number>();
  const failures: Record<string, number> = {};
  const conns: Conn[] = [];
  let connected = 0;
  let failed = 0;
  let dropped = 0;
  let extraSnapshots = 0;
  let seatMessages = 0;
  let heartbeats = 0;
  let bytesAfterSnapshot = 0;
  let complete = 0; // connections that have every watched seat
  let finishing: (() => void) | null = null;
  let firstConnectAt = NaN;
  let lastSnapshotAt = NaN;
  let nextToOpen = 0;
  let settled = 0; // connections past the connect phase (snapshot read, or failed)
  let readySent = false;
  const request = Buffer.from(
    `GET ${start.path} HTTP/1.1\r\nHost: ${start.host}:${start.port}\r\nAccept: text/event-stream\r\n` +
      `Cache-Control: no-cache\r\n\r\n`,
  );
  const shared = Buffer.allocUnsafe(256 * 1024);

  const fail = (conn: Conn, reason: string) => {
    if (conn.phase === 3) return;
    const wasLive = conn.phase === 2;
    conn.phase = 3;
    conn.pending = null;
    conn.carry = null;
    conn.socket?.destroy();
    conn.socket = null;
    if (wasLive) {
      dropped += 1;
      conn.dropped = true;
      if (conn.received < expectedCount) {
        // it will never complete: stop waiting for it
        conn.received = expectedCount;
        complete += 1;
        if (complete === connected) finishing?.();
      }
      return;
    }
    failed += 1;
    failures[reason] = (failures[reason] ?? 0) + 1;
    settle();
  };

  let stopOpening = false;
  const settle = () => {
    settled += 1;
    if (nextToOpen < count && !stopOpening) open();
    if (settled === count && !readySent) sendReady();
  };

  const sendReady = () => {
    readySent = true;
    clearTimeout(connectTimer);
    const versions = [...snapshotVersions.entries()].sort((a, b) => b[1] - a[1]).map(([version]) => version);
    const ready: ClientReady = {
      type: 'ready',
      connected,
      failed,
      failures,
      firstConnectAt,
      lastSnapshotAt,
      connectMs,
      snapshotBytes,
      bytesToSnapshot,
      snapshotVersions: versions,
      cpuS: cpuSeconds(),
    };
    send(ready);
  };

  /** Scans a live read for seat ids, snapshots and heartbeats. */
  const scanLive = (conn: Conn, data: Buffer, at: number) => {
    let position = data.indexOf(SEAT_EVENT);
    while (position !== -1) {
      seatMessages += 1;
      position = data.indexOf(SEAT_EVENT, position + SEAT_EVENT.length);
    }
    if (data.indexOf(HEARTBEAT) !== -1) heartbeats += 1;
    if (data.indexOf(SNAPSHOT) !== -1) extraSnapshots += 1;
    position = data.indexOf(SEAT_ID);
    while (position !== -1) {
      const from = position + SEAT_ID.length;
      const to = data.indexOf(QUOTE, from);
      if (to === -1) break;
      const change = seatIndex.get(data.toString('latin1', from, to));
      if (change !== undefined) {
        const slot = conn.index * changes + change;
        if (Number.isNaN(arrivals[slot]!)) {
          arrivals[slot] = at;
          if (expectedMask[change] === 1) {
            conn.received += 1;
            if (conn.received === expectedCount) {
              complete += 1;
              if (complete === connected) finishing?.();
            }
          }
        }
      }
      position = data.indexOf(SEAT_ID, to);
    }
  };

  const onRead = (conn: Conn, nread: number) => {
    const at = now();
    conn.bytes += nread;
    if (conn.phase === 2) {
      bytesAfterSnapshot += nread;
      let data = shared.subarray(0, nread);
      if (conn.carry) data = Buffer.concat([conn.carry, data]);
      scanLive(conn, data, at);
      // An unfinished line is kept and read again with what follows (the patterns are within a line).
      const lineEnd = data.lastIndexOf(NEWLINE);
      conn.carry = lineEnd === data.length - 1 ? null : Buffer.from(data.subarray(lineEnd + 1));
      if (conn.carry && conn.carry.length > 1024 * 1024) fail(conn, 'line too long');
      return;
    }
    if (conn.phase === 3) return;
    // Head and snapshot: small, accumulated per connection until the snapshot is whole.
    const piece = Buffer.from(shared.subarray(0, nread));
    conn.pending = conn.pending ? Buffer.concat([conn.pending, piece]) : piece;
    if (conn.phase === 0) {
      const headEnd = conn.pending.indexOf(CRLFCRLF);
      if (headEnd === -1) {
        if (conn.pending.length > 16 * 1024) fail(conn, 'head too long');
        return;
      }
      const statusLine = conn.pending.toString('latin1', 0, conn.pending.indexOf('\r\n'));
      const status = /^HTTP\/1\.1 (\d{3})/.exec(statusLine)?.[1] ?? '???';
      if (status !== '200') {
        fail(conn, `HTTP ${status}`);
        return;
      }
      conn.phase = 1;
    }
    const snapshotAt = conn.pending.indexOf(SNAPSHOT);
    if (snapshotAt === -1) return;
    const endAt = conn.pending.indexOf(END, snapshotAt);
    if (endAt === -1) return;
    const idAt = conn.pending.indexOf(ID_LINE, snapshotAt + SNAPSHOT.length - 1);
    const version = Number(
      conn.pending.toString('latin1', idAt + ID_LINE.length, conn.pending.indexOf(NEWLINE, idAt + 1)),
    );
    snapshotVersions.set(version, (snapshotVersions.get(version) ?? 0) + 1);
    connectMs[conn.index] = at - conn.startedAt;
    snapshotBytes[conn.index] = endAt + END.length - snapshotAt;
    // Whatever followed the snapshot in this read (nothing, normally) is scanned as live data.
    const rest = conn.pending.subarray(endAt + END.length);
    bytesToSnapshot[conn.index] = conn.bytes - rest.length;
    conn.pending = null;
    conn.phase = 2;
    connected += 1;
    lastSnapshotAt = Number.isNaN(lastSnapshotAt) ? at : Math.max(lastSnapshotAt, at);
    if (rest.length > 0) scanLive(conn, rest, at);
    settle();
  };

  const open = () => {
    const index = nextToOpen;
    nextToOpen += 1;
    const conn: Conn = {
      index,
      socket: null,
      startedAt: now(),
      phase: 0,
      dropped: false,
      pending: null,
      carry: null,
      bytes: 0,
      received: 0,
    };
    conns.push(conn);
    if (Number.isNaN(firstConnectAt)) firstConnectAt = conn.startedAt;
    const socket = connect({
      host: start.host,
      port: start.port,
      noDelay: true,
      onread: {
        buffer: shared,
        callback: (nread: number) => {
          onRead(conn, nread);
          return true;
        },
      },
    });
    conn.socket = socket;
    socket.on('connect', () => socket.write(request));
    socket.on('error', (error: NodeJS.ErrnoException) => fail(conn, error.code ?? error.message));
    socket.on('close', () => fail(conn, conn.phase === 2 ? 'closed' : 'closed before snapshot'));
  };

  const connectTimer = setTimeout(() => {
    stopOpening = true;
    for (const conn of conns) if (conn.phase < 2) fail(conn, 'connect phase timed out');
    while (nextToOpen < count) {
      nextToOpen += 1;
      failed += 1;
      failures['never opened (connect phase timed out)'] =
        (failures['never opened (connect phase timed out)'] ?? 0) + 1;
      settled += 1;
    }
    if (!readySent) sendReady();
  }, start.connectTimeoutMs);

  for (let i = 0; i < Math.min(start.concurrency, count); i += 1) open();
  if (count === 0) sendReady();

  return {
    finish(waitMs: number, expected: number[]) {
      expectedMask.fill(0);
      for (const change of expected) expectedMask[change] = 1;
      expectedCount = expected.length;
      complete = 0;
      for (const conn of conns) {
        if (conn.dropped) {
          // dropped while live: already given up on
          conn.received = expectedCount;
          complete += 1;
          continue;
        }
        if (conn.phase !== 2) continue;
        let received = 0;
        for (const change of expected) if (!Number.isNaN(arrivals[conn.index * changes + change]!)) received += 1;
        conn.received = received;
        if (received === expectedCount) complete += 1;
      }
      const end = () => {
        finishing = null;
        clearTimeout(timer);
        const done: ClientDone = {
          type: 'done',
          arrivals,
          changes,
          dropped,
          extraSnapshots,
          seatMessages,
          heartbeats,
          bytesAfterSnapshot,
          cpuS: cpuSeconds(),
        };
        for (const conn of conns) {
          conn.phase = 3;
          conn.socket?.destroy();
        }
        send(done); // the parent then disconnects, and this process exits
      };
      const timer = setTimeout(end, waitMs);
      if (expectedCount === 0 || complete >= connected) end();
      else finishing = end;
    },
  };
}

let client: ReturnType<typeof run> | null = null;
process.on('message', (message: Message) => {
  if (message.type === 'start' && !client) {
    cpuBaseline = process.cpuUsage();
    client = run(message);
  } else if (message.type === 'ping') process.send!({ type: 'pong', id: message.id, at: now() });
  else if (message.type === 'finish') client?.finish(message.waitMs, message.expected);
});
process.on('disconnect', () => process.exit(0)); // the parent went away
