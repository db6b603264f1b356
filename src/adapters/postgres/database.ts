// One small interface over node-postgres and PGlite so the same SQL runs on both.
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { unaccent } from '@electric-sql/pglite/contrib/unaccent';
import type { Config } from '../../config.ts';

// int8 columns (counts, fencing tokens, cents) fit in a double for every value we store;
// PGlite already answers numbers, so node-postgres is made to agree.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

export interface QueryResult<Row> {
  rows: Row[];
  rowCount: number;
}

export interface SqlExecutor {
  query<Row = Record<string, unknown>>(text: string, params?: unknown[]): Promise<QueryResult<Row>>;
  /** Runs a script of several statements without parameters (migrations). */
  exec(script: string): Promise<void>;
}

export interface Database extends SqlExecutor {
  readonly kind: 'postgres' | 'pglite';
  /** Runs fn in a transaction: committed when it returns, rolled back when it throws. */
  transaction<T>(fn: (tx: SqlExecutor) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface PostgresOptions {
  url: string;
  poolMax: number;
  /** Used by tests to give each run its own schema. */
  searchPath?: string;
}

export function connectPostgres(options: PostgresOptions): Database {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    options: options.searchPath ? `-c search_path=${options.searchPath}` : undefined,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const toResult = <Row>(result: pg.QueryResult): QueryResult<Row> => ({
    rows: result.rows as Row[],
    rowCount: result.rowCount ?? 0,
  });
  return {
    kind: 'postgres',
    async query<Row>(text: string, params?: unknown[]) {
      return toResult<Row>(await pool.query(text, params));
    },
    async transaction<T>(fn: (tx: SqlExecutor) => Promise<T>) {
      const client = await pool.connect();
      let broken = false;
      // The pool stops listening for a client's errors while it is checked out; a backend
      // that dies between two statements would otherwise crash the process.
      const onError = () => {
        broken = true;
      };
      client.on('error', onError);
      try {
        await client.query('BEGIN');
        const value = await fn({
          query: async <Row>(text: string, params?: unknown[]) => toResult<Row>(await client.query(text, params)),
          exec: async (script: string) => {
            await client.query(script);
          },
        });
        await client.query('COMMIT');
        return value;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw error;
      } finally {
        client.off('error', onError);
        client.release(broken);
      }
    },
    async exec(script: string) {
      await pool.query(script);
    },
    async close() {
      await pool.end();
    },
  };
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * PGlite's files belong to one process: a second process on the same folder would see
 * its own copy of the data and lose the other's writes. A pid file keeps it out; a file
 * left by a process that is gone is taken over.
 */
function lockDataDir(dir: string): () => void {
  const lockPath = path.join(dir, 'boxoffice.pid');
  for (let attempt = 0; attempt < 3; attempt += 1) {
    try {
      const fd = openSync(lockPath, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(lockPath, 'utf8') === String(process.pid)) unlinkSync(lockPath);
        } catch {
          // already gone
        }
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(lockPath, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isProcessAlive(holder)) {
        throw new Error(
          `the embedded database in ${dir} is in use by process ${holder}; stop that process or set DATA_DIR to another folder`,
        );
      }
      unlinkSync(lockPath);
    }
  }
  throw new Error(`could not lock the embedded database in ${dir}`);
}

export async function openPglite(dataDir: string): Promise<Database> {
  let location = dataDir;
  let unlock = () => {};
  if (!dataDir.startsWith('memory://')) {
    mkdirSync(path.resolve(dataDir), { recursive: true });
    unlock = lockDataDir(path.resolve(dataDir));
    location = path.resolve(dataDir, 'pglite');
    mkdirSync(location, { recursive: true });
  }
  let db: PGlite;
  try {
    // The catalog's search needs these two contrib extensions (migrations/003_catalog.sql).
    db = await PGlite.create(location, { extensions: { pg_trgm, unaccent } });
  } catch (error) {
    unlock();
    throw error;
  }
  const toResult = <Row>(result: { rows: unknown[]; affectedRows?: number }): QueryResult<Row> => ({
    rows: result.rows as Row[],
    rowCount: result.affectedRows || result.rows.length,
  });
  return {
    kind: 'pglite',
    async query<Row>(text: string, params?: unknown[]) {
      return toResult<Row>(await db.query(text, params));
    },
    transaction<T>(fn: (tx: SqlExecutor) => Promise<T>) {
      // PGlite serves one connection: its transaction holds the database for its duration.
      return db.transaction((tx) =>
        fn({
          query: async <Row>(text: string, params?: unknown[]) => toResult<Row>(await tx.query(text, params)),
          exec: async (script: string) => {
            await tx.exec(script);
          },
        }),
      );
    },
    async exec(script: string) {
      await db.exec(script);
    },
    async close() {
      await db.close();
      unlock();
    },
  };
}

/** The configured database: PostgreSQL when DATABASE_URL is set, else PGlite in DATA_DIR. */
export async function openDatabase(
  config: Pick<Config, 'DATABASE_URL' | 'DATABASE_POOL_MAX' | 'DATA_DIR'>,
  searchPath?: string,
): Promise<Database> {
  return config.DATABASE_URL
    ? connectPostgres({ url: config.DATABASE_URL, poolMax: config.DATABASE_POOL_MAX, searchPath })
    : openPglite(config.DATA_DIR);
}
