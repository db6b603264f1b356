// Starts and stops the service: config, database, app, sweeper, graceful shutdown, and
// with WORKERS > 1 a node:cluster primary that forks workers sharing the port.
import cluster from 'node:cluster';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startSweeper } from '../app/expire-holds.ts';
import { startAdmitter } from '../app/waiting-room.ts';
import { checkServable, ConfigError, type Config, isDemoMode, loadConfig } from '../config.ts';
import { seedDemoEvent } from '../demo.ts';
import { createRuntime, liveOptionsFrom } from '../runtime.ts';
import { buildApp } from './app.ts';
import { authenticatorFrom, limitsFrom } from './options.ts';

async function startWorker(config: Config) {
  // Redis trouble is reported, at most once per kind every 10 s: while Redis is down every
  // request would report it, and the service keeps selling without it.
  let report: (error: unknown, context: string) => void = () => {};
  const lastReported = new Map<string, number>();
  const authenticator = authenticatorFrom(config);
  const runtime = await createRuntime(config, {
    onBoardError: (error, context) => {
      const now = Date.now();
      if ((lastReported.get(context) ?? 0) > now - 10_000) return;
      lastReported.set(context, now);
      report(error, context);
    },
  });
  const app = await buildApp({
    deps: runtime.deps,
    gauges: runtime.gauges,
    authenticator,
    bodyLimitBytes: config.BODY_LIMIT_BYTES,
    eventBodyLimitBytes: config.EVENT_BODY_LIMIT_BYTES,
    logger: { level: config.LOG_LEVEL },
    live: liveOptionsFrom(config),
    limits: limitsFrom(config),
    webAppDir: config.WEB_APP_DIR,
    availabilityMaxAgeMs: config.AVAILABILITY_MAX_AGE_MS,
  });
  report = (error, context) => app.log.warn({ err: error }, `${context} failed; serving from PostgreSQL meanwhile`);
  const sweeper = startSweeper(runtime.deps, {
    intervalMs: config.SWEEP_INTERVAL_MS,
    batchSize: config.SWEEP_BATCH_SIZE,
    keyRetentionMs: config.IDEMPOTENCY_KEY_RETENTION_HOURS * 3_600_000,
    onError: (error) => app.log.error({ err: error }, 'expiry sweep failed'),
    afterSweep: runtime.refreshFailingRefunds,
  });
  const admitter = startAdmitter(runtime.deps, {
    ...runtime.deps.settings.admitter,
    onError: (error) => app.log.warn({ err: error }, 'admission tick failed'),
  });
  // The outbox relay, the bus's consumers (mail) and the mail sender.
  await runtime.facts.start();
  const demoEventId = !config.DATABASE_URL && config.DEMO_EVENT === 'auto' ? await seedDemoEvent(runtime.deps) : null;
  const address = await app.listen({ port: config.PORT, host: config.HOST });

  if (!cluster.isWorker || cluster.worker?.id === 1) printWelcome(address, config, demoEventId);
  if (!config.DATABASE_URL) app.log.warn(embeddedDurability);

  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      app.log.error('graceful shutdown timed out; exiting');
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS);
    deadline.unref();
    await app.close(); // stops accepting, lets in-flight requests finish
    await sweeper.stop();
    await admitter.stop();
    await runtime.close(); // stops the relay and consumers first
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
}

const embeddedDurability =
  'embedded database (PGlite): an acknowledged hold or booking survives a crash of this process but not a power cut ' +
  'or an operating-system crash (PGlite does not fsync); set DATABASE_URL (PostgreSQL) for anything that matters';

function printWelcome(address: string, config: Config, demoEventId: string | null) {
  const lines = [`Boxoffice listening on ${address}  (API docs: ${address}/docs)`];
  if (config.WEB_APP_DIR !== 'off' && existsSync(path.join(config.WEB_APP_DIR, 'index.html'))) {
    const signIn = isDemoMode(config) ? 'sign in with any name' : 'sign in with a token from your identity provider';
    lines.push(`Web app: open ${address}/ in a browser (${signIn}, pick seats, pay with a test card)`);
  }
  if (demoEventId) lines.push(`Demo event on sale now: ${address}/v1/events/${demoEventId}/seats`);
  if (isDemoMode(config)) {
    lines.push(
      'Demo mode (DEMO_MODE=true): anyone who reaches this address signs in as anyone; get a token with',
      `  curl -s -X POST ${address}/v1/dev/token -H 'content-type: application/json' -d '{"user_id":"alice","role":"customer"}'`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

function startPrimary(config: Config) {
  // Admission tokens: one worker's must pass on all of them. (Demo mode, whose secret is
  // random per process, is never several workers: it runs on the embedded database only.)
  const env: Record<string, string> = {};
  if (!config.ADMISSION_SECRET && !config.AUTH_SECRET) env.ADMISSION_SECRET = randomBytes(32).toString('base64url');
  let stopping = false;
  // A worker that dies soon after it started (bad database URL, say) is restarted with
  // growing pauses; after several such deaths in a row the primary gives up, so a
  // supervisor sees the failure instead of a primary that serves nothing.
  const quickDeathMs = 10_000;
  const quickDeathsMax = 5;
  let quickDeaths = 0;
  const startedAt = new Map<number, number>();
  const fork = () => {
    const worker = cluster.fork(env);
    startedAt.set(worker.id, Date.now());
  };
  for (let index = 0; index < config.WORKERS; index += 1) fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    const livedMs = Date.now() - (startedAt.get(worker.id) ?? 0);
    startedAt.delete(worker.id);
    quickDeaths = livedMs < quickDeathMs ? quickDeaths + 1 : 0;
    if (quickDeaths >= quickDeathsMax) {
      process.stderr.write(`workers keep dying at start (${quickDeaths} in a row); giving up\n`);
      stopping = true;
      for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGTERM');
      process.exitCode = 1;
      return;
    }
    const pauseMs = Math.min(30_000, 250 * 2 ** quickDeaths);
    process.stderr.write(
      `worker ${worker.process.pid} exited (${signal ?? code}); starting another in ${pauseMs} ms\n`,
    );
    setTimeout(fork, pauseMs);
  });
  const stop = () => {
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill('SIGTERM');
    const deadline = setTimeout(() => process.exit(1), config.SHUTDOWN_TIMEOUT_MS + 1000);
    deadline.unref();
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/**
 * `npm start` on a fresh machine: nothing configured at all (no identity provider, no
 * database, a loopback HOST) asks for demo mode, so the first command gives a working
 * demo. Anything configured, and demo mode must be asked for by name.
 */
function askForDemoModeWhenUnconfigured(env: NodeJS.ProcessEnv) {
  const unset = (key: string) => env[key] === undefined || env[key] === '';
  const loopbackHost = unset('HOST') || ['127.0.0.1', '::1', 'localhost'].includes(env.HOST!);
  if (unset('DEMO_MODE') && unset('AUTH_SECRET') && unset('AUTH_JWKS_URL') && unset('DATABASE_URL') && loopbackHost) {
    env.DEMO_MODE = 'true';
  }
}

async function main() {
  let config: Config;
  try {
    if (process.argv.includes('--demo-when-unconfigured')) askForDemoModeWhenUnconfigured(process.env);
    config = loadConfig();
    checkServable(config);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  if (config.WORKERS > 1 && cluster.isPrimary) startPrimary(config);
  else await startWorker(config);
}

main().catch((error: unknown) => {
  process.stderr.write(`boxoffice failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
