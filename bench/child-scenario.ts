// What the scenarios bench/run.ts runs as child processes (bench/sse-fanout.ts,
// bench/waiting-room.ts) share: their command line (--quick, --out <file.json>, integer
// options), the result written whole or not at all, the stop signals, and the entry point
// with the `[name] failed:` line that bench/run.ts reports when one fails.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { dropDatabase } from './verify.ts';

export interface ChildOptions {
  quick: boolean;
  /** Write the JSON here (atomically, through <out>.tmp) instead of printing it. */
  out: string | null;
}

/**
 * Reads `--quick`, `--out <file.json>` and the integer options in `numeric` (flag → the
 * option it sets, its least and its greatest value) over `defaults`. A bad argument throws
 * `usage: <usage>  (bad argument …)`.
 */
export function parseChildArgs<T extends ChildOptions>(
  argv: string[],
  defaults: T,
  numeric: Record<string, [key: keyof T & string, min: number, max: number]>,
  usage: string,
): T {
  const options = { ...defaults };
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    if (arg === '--quick') continue;
    const bad = () => new Error(`usage: ${usage}  (bad argument ${arg})`);
    if (arg === '--out') {
      const file = argv[i + 1];
      if (!file || file.startsWith('--')) throw bad();
      options.out = path.resolve(file);
      i += 1;
      continue;
    }
    const spec = numeric[arg];
    const value = Number(argv[i + 1]);
    if (!spec || !Number.isInteger(value) || value < spec[1] || value > spec[2]) throw bad();
    (options as Record<string, unknown>)[spec[0]] = value;
    i += 1;
  }
  return options;
}

/** Writes the result as JSON to `out` (through `<out>.tmp`: a reader never sees half of it), else to stdout. */
export function writeResult(out: string | null, result: unknown, root: string, log: (message: string) => void) {
  const json = `${JSON.stringify(result, null, 2)}\n`;
  if (!out) {
    process.stdout.write(json);
    return;
  }
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(`${out}.tmp`, json);
  renameSync(`${out}.tmp`, out);
  log(`wrote ${path.relative(root, out) || out}`);
}

/** The few Redis commands deletePrefix needs (an ioredis client has them). */
interface KeyScanner {
  scanStream(options: { match: string; count: number }): NodeJS.ReadableStream;
  unlink(...keys: string[]): Promise<number>;
}

/** Deletes every key under `prefix` (SCAN + UNLINK: never FLUSHDB, the Redis is shared); returns how many. */
export async function deletePrefix(redis: KeyScanner, prefix: string): Promise<number> {
  let deleted = 0;
  for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 1_000 }) as AsyncIterable<string[]>) {
    if (batch.length > 0) deleted += await redis.unlink(...batch);
  }
  return deleted;
}

/**
 * A scenario's clean-up of its stores: drops its database (when it created one) and deletes
 * its keys (when it has a Redis connection), logging each; what was done goes in its result.
 */
export async function releaseStores(
  adminUrl: string,
  database: string | null,
  redis: KeyScanner | null,
  prefix: string,
  log: (message: string) => void,
): Promise<{ database_dropped: boolean; redis_keys_deleted: number | null }> {
  const released = { database_dropped: false, redis_keys_deleted: null as number | null };
  if (database) {
    await dropDatabase(adminUrl, database).then(
      () => {
        released.database_dropped = true;
        log(`dropped database ${database}`);
      },
      (error: Error) => log(`could not drop database ${database}: ${error.message}`),
    );
  }
  if (redis) {
    await deletePrefix(redis, prefix).then(
      (count) => {
        released.redis_keys_deleted = count;
        log(`deleted ${count} Redis keys under ${prefix}`);
      },
      (error: Error) => log(`could not delete the keys under ${prefix}: ${error.message}`),
    );
  }
  return released;
}

let signalled = false;

/** A SIGINT / SIGTERM arrived: the run is being stopped (its failures are expected, not reported). */
export const stopRequested = () => signalled;

/**
 * The first SIGINT / SIGTERM runs `cleanup` and exits 130 (bench/run.ts sends SIGINT on
 * Ctrl-C or at its timeout); a second one exits at once (the exit handlers kill what the
 * child started; its database may be left behind).
 */
export function cleanUpOnStop(cleanup: () => Promise<void>, log: (message: string) => void) {
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) {
      log(`${signal} again: exiting now`);
      process.exit(130);
    }
    signalled = true;
    log(`${signal}: cleaning up`);
    void cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/**
 * Runs `main` when the module at `moduleUrl` is the script node was started with, and exits
 * with its status (0 when it gives none), 130 when a signal stopped it, or 1 after printing
 * `[name] failed: <stack>`.
 */
export function runAsScript(moduleUrl: string, name: string, main: () => Promise<number | void>) {
  if (!process.argv[1] || moduleUrl !== pathToFileURL(path.resolve(process.argv[1])).href) return;
  main().then(
    (code) => process.exit(code ?? 0),
    (error: unknown) => {
      if (signalled) process.exit(130); // cleaned up by then: the signal's clean-up ran first
      process.stderr.write(`[${name}] failed: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
}
