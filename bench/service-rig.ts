// A child scenario's own service: a fresh PostgreSQL database (and a data directory), one
// server process on it with the test payment provider, and a pool of connections to it.
// Stopped and removed once: at the end, when starting fails, or on SIGINT / SIGTERM.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import { cleanUpOnStop } from './child-scenario.ts';
import { ServerProcess } from './server.ts';
import { createDatabase, dropDatabase } from './verify.ts';

/** One answer: the status, the body (parsed when JSON, else its text) and the time to its last byte. */
export interface RigAnswer {
  status: number;
  body: any;
  text: string;
  ms: number;
  bytes: number;
}

export interface ServiceRig {
  server: ServerProcess;
  origin: string;
  agent: Agent;
  databaseUrl: string;
  /**
   * One request with a bearer token and a JSON body (if any). Transport errors and
   * timeouts throw: the caller counts them as it counts statuses.
   */
  send(
    method: 'GET' | 'POST' | 'PATCH' | 'DELETE',
    path: string,
    token: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<RigAnswer>;
  cleanUp(): Promise<void>;
}

export interface ServiceRigOptions {
  root: string;
  adminUrl: string;
  /** The database's name (created, and dropped at the end). */
  database: string;
  authSecret: string;
  /** Connections in the pool: the scenario's concurrency and a few more. */
  connections: number;
  requestTimeoutMs: number;
  /** Server settings beyond the database, data directory, secret and quiet logs. */
  env?: Record<string, string>;
  log: (message: string) => void;
}

export async function startServiceRig(options: ServiceRigOptions): Promise<ServiceRig> {
  const { adminUrl, database, log } = options;
  const databaseUrl = await createDatabase(adminUrl, database);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), `boxoffice-${database}-`));
  const agent = new Agent({ connections: options.connections, keepAliveTimeout: 30_000 });
  let server: ServerProcess | null = null;
  let cleaning: Promise<void> | null = null;
  const cleanUp = () =>
    (cleaning ??= (async () => {
      await server?.stop().catch(() => {});
      await agent.close().catch(() => {});
      rmSync(dataDir, { recursive: true, force: true });
      await dropDatabase(adminUrl, database).then(
        () => log(`dropped database ${database}`),
        (error: unknown) => log(`dropping ${database}: ${String(error)}`),
      );
    })());
  cleanUpOnStop(cleanUp, log);
  try {
    server = await ServerProcess.start({
      root: options.root,
      env: {
        DATABASE_URL: databaseUrl,
        DATA_DIR: dataDir,
        AUTH_SECRET: options.authSecret,
        LOG_LEVEL: 'warn',
        DEMO_EVENT: 'off',
        PAYMENT_PROVIDER: 'test',
        ...options.env,
      },
    });
  } catch (error) {
    await cleanUp();
    throw error;
  }
  const origin = server.origin;
  const send: ServiceRig['send'] = async (method, urlPath, token, body, headers = {}) => {
    const startedMs = performance.now();
    const response = await request(`${origin}${urlPath}`, {
      method,
      dispatcher: agent,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      headersTimeout: options.requestTimeoutMs,
      bodyTimeout: options.requestTimeoutMs,
    });
    const text = await response.body.text();
    const json = String(response.headers['content-type'] ?? '').includes('json');
    return {
      status: response.statusCode,
      body: json ? (text ? JSON.parse(text) : null) : text,
      text,
      ms: performance.now() - startedMs,
      bytes: Buffer.byteLength(text),
    };
  };
  return { server, origin, agent, databaseUrl, send, cleanUp };
}
