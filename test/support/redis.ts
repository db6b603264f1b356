// Throwaway Redis servers for tests: each one a redis-server child process on a spare
// 127.0.0.1 port with its own temp dir and no persistence, killed when the test process exits.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort } from './processes.ts';

const redisServerBin = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const redisCliBin = process.env.REDIS_CLI_BIN ?? 'redis-cli';
const readyTimeoutMs = 10_000;
const clusterTimeoutMs = 20_000;
const stopTimeoutMs = 5_000;
const outputLimit = 64 * 1024;

export interface RedisServer {
  port: number;
  /** redis://127.0.0.1:port */
  url: string;
  /** SIGKILLs the server and waits until it has exited. */
  kill9(): Promise<void>;
  /** Starts a fresh, empty server on the same port (killing the current one if it runs) and waits for PING. */
  restart(): Promise<void>;
  /** Stops the server and removes its temp dir; safe to call more than once. */
  stop(): Promise<void>;
}

export interface RedisCluster {
  ports: number[];
  /** redis://127.0.0.1:port per node. */
  urls: string[];
  /** Stops every node and removes the temp dir; safe to call more than once. */
  stop(): Promise<void>;
}

// --- cleanup when the test process goes away -------------------------------------------

const liveChildren = new Set<ChildProcess>();
const liveDirs = new Set<string>();
let cleanupRegistered = false;

function cleanupSync(): void {
  for (const child of liveChildren) {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
  liveChildren.clear();
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

function registerCleanup(): void {
  if (cleanupRegistered) return;
  cleanupRegistered = true;
  process.on('exit', cleanupSync);
  // A signal's default action skips 'exit' handlers: clean up, then die of the signal as before
  // unless someone else has taken the signal over.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      cleanupSync();
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}

function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  liveDirs.add(dir);
  return dir;
}

function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  liveDirs.delete(dir);
}

// --- one redis-server process -----------------------------------------------------------

interface RedisProcess {
  port: number;
  child: ChildProcess;
  output(): string;
}

const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const describeExit = (child: ChildProcess) =>
  child.signalCode !== null ? `signal ${child.signalCode}` : `code ${child.exitCode}`;

function spawnRedis(port: number, dir: string, extraArgs: string[] = []): RedisProcess {
  registerCleanup();
  // "--save ''": an empty argument turns RDB snapshots off (spawn passes it through as-is).
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  args.push('--dir', dir, '--protected-mode', 'no', ...extraArgs);
  const child = spawn(redisServerBin, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const append = (chunk: Buffer | string) => {
    output += chunk;
    if (output.length > outputLimit) output = output.slice(-outputLimit);
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  child.on('error', (error) => append(`\n[spawn error] ${error.message}\n`));
  // A server a test forgot to stop must not keep the test process alive: the 'exit' handler kills it.
  child.unref();
  (child.stdout as { unref?: () => void } | null)?.unref?.();
  (child.stderr as { unref?: () => void } | null)?.unref?.();
  liveChildren.add(child);
  child.once('exit', () => liveChildren.delete(child));
  child.once('error', () => liveChildren.delete(child));
  return { port, child, output: () => output };
}

/** Resolves once the process has exited; SIGKILLs it if `signal` did not stop it in time. */
async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (hasExited(child) || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  const escalate = setTimeout(() => child.kill('SIGKILL'), stopTimeoutMs);
  const giveUp = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), 2 * stopTimeoutMs).unref());
  const outcome = await Promise.race([exited, giveUp]);
  clearTimeout(escalate);
  if (outcome === 'timeout') throw new Error(`redis-server pid ${child.pid} did not exit after ${signal} and SIGKILL`);
}

/** Sends one command over a raw socket and returns the reply (a bulk string, status or integer as text). */
export function redisCommand(port: number, args: string[], timeoutMs = 2_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let buffer = Buffer.alloc(0);
    const finish = (error: Error | null, value?: string) => {
      clearTimeout(timer);
      socket.destroy();
      if (error) reject(error);
      else resolve(value!);
    };
    const timer = setTimeout(() => finish(new Error(`no reply to ${args[0]} from 127.0.0.1:${port}`)), timeoutMs);
    socket.on('error', (error) => finish(error));
    socket.on('close', () => finish(new Error(`connection to 127.0.0.1:${port} closed before a reply`)));
    socket.on('connect', () => {
      const parts = args.map((arg) => `$${Buffer.byteLength(arg)}\r\n${arg}\r\n`);
      socket.write(`*${args.length}\r\n${parts.join('')}`);
    });
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      const lineEnd = buffer.indexOf('\r\n');
      if (lineEnd < 0) return;
      const type = String.fromCharCode(buffer[0]!);
      const line = buffer.subarray(1, lineEnd).toString();
      if (type === '+' || type === ':') return finish(null, line);
      if (type === '-') return finish(new Error(`redis 127.0.0.1:${port}: ${line}`));
      if (type === '$') {
        const length = Number(line);
        if (length < 0) return finish(null, '');
        if (buffer.length < lineEnd + 2 + length + 2) return; // wait for the rest
        return finish(null, buffer.subarray(lineEnd + 2, lineEnd + 2 + length).toString());
      }
      finish(new Error(`unexpected reply type ${JSON.stringify(type)} from 127.0.0.1:${port}`));
    });
  });
}

/** After an exit, waits (briefly) until the last of the process's output has been read. */
async function outputDrained(redis: RedisProcess): Promise<void> {
  const streams = [redis.child.stdout, redis.child.stderr].filter((stream) => stream && !stream.closed);
  const closed = Promise.all(streams.map((stream) => new Promise((resolve) => stream!.once('close', resolve))));
  await Promise.race([closed, sleep(500)]);
}

/** Waits until the process answers PING; throws with its output if it exits or the time runs out. */
async function waitForPing(redis: RedisProcess, timeoutMs = readyTimeoutMs): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    if (hasExited(redis.child) || redis.child.pid === undefined) {
      await outputDrained(redis);
      throw new Error(
        `redis-server on port ${redis.port} exited (${describeExit(redis.child)}) before answering PING:\n${redis.output()}`,
      );
    }
    try {
      if ((await redisCommand(redis.port, ['PING'], 1_000)) === 'PONG') {
        // Make sure it is our process answering, not another server that already held the port.
        const info = await redisCommand(redis.port, ['INFO', 'server'], 1_000);
        const pid = /^process_id:(\d+)/m.exec(info)?.[1];
        if (pid === String(redis.child.pid)) return;
        lastError = `port ${redis.port} is answered by another redis-server (pid ${pid})`;
      }
    } catch (error) {
      lastError = (error as Error).message;
    }
    if (Date.now() > deadline) {
      await terminate(redis.child, 'SIGKILL');
      throw new Error(
        `redis-server on port ${redis.port} did not answer PING within ${timeoutMs} ms (${lastError}):\n${redis.output()}`,
      );
    }
    await sleep(25);
  }
}

const portTaken = (output: string) => /address already in use/i.test(output);

export async function startRedisServer(options: { port?: number } = {}): Promise<RedisServer> {
  const dir = makeTempDir('boxoffice-redis-');
  let starting: RedisProcess | undefined;
  try {
    // A port from freePort() may be taken again before redis binds it: then try another one.
    for (let attempt = 1; ; attempt += 1) {
      const port = options.port ?? (await freePort());
      starting = spawnRedis(port, dir);
      try {
        await waitForPing(starting);
        break;
      } catch (error) {
        if (options.port !== undefined || attempt >= 5 || !portTaken(starting.output())) throw error;
      }
    }
  } catch (error) {
    if (starting) await terminate(starting.child, 'SIGKILL');
    removeTempDir(dir);
    throw error;
  }
  let current: RedisProcess = starting;
  const port = current.port;
  let stopped = false;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    async kill9() {
      await terminate(current.child, 'SIGKILL');
    },
    async restart() {
      if (stopped) throw new Error(`redis-server on port ${port} was stopped; it cannot be restarted`);
      await terminate(current.child, 'SIGKILL');
      current = spawnRedis(port, dir);
      await waitForPing(current);
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await terminate(current.child, 'SIGTERM');
      } finally {
        removeTempDir(dir);
      }
    },
  };
}

// --- a cluster ---------------------------------------------------------------------------

function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** `count` ports whose cluster bus port (port + 10000) is also free and below 65536, all distinct. */
async function clusterPorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  const used = new Set<number>();
  for (let tries = 0; ports.length < count; tries += 1) {
    if (tries > 200) throw new Error(`could not find ${count} ports with free cluster bus ports (port + 10000)`);
    const port = await freePort();
    const bus = port + 10_000;
    if (bus >= 65_536 || used.has(port) || used.has(bus) || !(await isPortFree(bus))) continue;
    ports.push(port);
    used.add(port).add(bus);
  }
  return ports;
}

function runCli(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(redisCliBin, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (error, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (error) reject(new Error(`redis-cli ${args.join(' ')} failed (${error.message}):\n${output}`));
      else resolve(output);
    });
  });
}

const clusterInfoField = (info: string, field: string) => new RegExp(`^${field}:(\\S+)`, 'm').exec(info)?.[1];

async function waitForClusterOk(nodes: RedisProcess[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const lastInfo = new Map<number, string>();
  for (;;) {
    const states = await Promise.all(
      nodes.map(async (node) => {
        if (hasExited(node.child)) {
          await outputDrained(node);
          throw new Error(`cluster node ${node.port} exited (${describeExit(node.child)}):\n${node.output()}`);
        }
        try {
          const info = await redisCommand(node.port, ['CLUSTER', 'INFO'], 1_000);
          lastInfo.set(node.port, info);
          return (
            clusterInfoField(info, 'cluster_state') === 'ok' &&
            clusterInfoField(info, 'cluster_slots_assigned') === '16384' &&
            clusterInfoField(info, 'cluster_slots_ok') === '16384' &&
            clusterInfoField(info, 'cluster_known_nodes') === String(nodes.length)
          );
        } catch (error) {
          lastInfo.set(node.port, (error as Error).message);
          return false;
        }
      }),
    );
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) {
      const report = nodes.map((node) => `--- node ${node.port}: CLUSTER INFO\n${lastInfo.get(node.port) ?? ''}`);
      throw new Error(`cluster not ok within ${timeoutMs} ms:\n${report.join('\n')}`);
    }
    await sleep(100);
  }
}

export async function startRedisCluster(options: { masters?: number } = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  if (!Number.isInteger(masters) || masters < 3)
    throw new Error(`a Redis cluster needs at least 3 masters, not ${masters}`);
  for (let attempt = 1; ; attempt += 1) {
    const dir = makeTempDir('boxoffice-redis-cluster-');
    const nodes: RedisProcess[] = [];
    const stopAll = async (signal: NodeJS.Signals) => {
      await Promise.all(nodes.map((node) => terminate(node.child, signal)));
      removeTempDir(dir);
    };
    try {
      const ports = await clusterPorts(masters);
      for (const port of ports) {
        const clusterArgs = ['--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, `nodes-${port}.conf`)];
        nodes.push(spawnRedis(port, dir, [...clusterArgs, '--cluster-node-timeout', '2000']));
      }
      await Promise.all(nodes.map((node) => waitForPing(node)));
      const deadline = Date.now() + clusterTimeoutMs;
      const addresses = ports.map((port) => `127.0.0.1:${port}`);
      await runCli(['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], clusterTimeoutMs);
      await waitForClusterOk(nodes, Math.max(deadline - Date.now(), 1_000));
      let stopped = false;
      return {
        ports,
        urls: ports.map((port) => `redis://127.0.0.1:${port}`),
        async stop() {
          if (stopped) return;
          stopped = true;
          await stopAll('SIGTERM');
        },
      };
    } catch (error) {
      await stopAll('SIGKILL').catch(() => undefined);
      // A port (or bus port) can be grabbed between checking it and redis binding it: retry then.
      const lostPortRace = nodes.some((node) => portTaken(node.output()));
      if (!lostPortRace || attempt >= 3) throw error;
    }
  }
}
